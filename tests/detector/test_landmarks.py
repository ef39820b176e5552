"""Spectral-peak landmarks: a short clip copied into other sound is found in its source, at the right time and
offset, through an AAC encode; unrelated sound and another take of the same words are not; pieces give the same
peaks as the whole."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from corpus import synth
from detector.fingerprint import Fingerprints
from detector.landmarks import FRAME_S, SAMPLE_RATE, PeakExtractor, pairs, quotes, spectral_peaks, unpack
from tests.detector.test_fingerprint import aac_round_trip, music_like


def speech(seed: int, duration_s: float) -> np.ndarray:
    """Lines of two synthetic voices (corpus.synth) with pauses, over faint noise: a scene's dialogue."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(duration_s * SAMPLE_RATE), np.float32)
    at = 0
    while at < len(out):
        line = synth.speech_line(f"test/line/{seed}/{at}", f"v{rng.integers(0, 2)}", SAMPLE_RATE)
        piece = line[: len(out) - at]
        out[at : at + len(piece)] += 0.3 * piece / (np.abs(line).max() + 1e-9)
        at += len(piece) + int(rng.uniform(0.2, 1.0) * SAMPLE_RATE)
    return out + rng.normal(0, 0.002, len(out)).astype(np.float32)


@pytest.fixture(scope="module")
def story() -> np.ndarray:
    return speech(seed=1, duration_s=120.0)


def test_peaks_are_spread_over_time_and_silence_has_none(story: np.ndarray) -> None:
    frames, _ = unpack(spectral_peaks(story))
    per_second = np.bincount((frames * FRAME_S).astype(int), minlength=120)
    assert 8 <= np.median(per_second) <= 17
    silent = np.concatenate([np.zeros(5 * SAMPLE_RATE, np.float32), story[: 5 * SAMPLE_RATE]])
    frames, _ = unpack(spectral_peaks(silent))
    assert frames.min() * FRAME_S > 4.8  # none in the silence (the first window of sound reaches back 32 ms)


@pytest.mark.parametrize("piece", [1000, 16000 * 7 + 13])
def test_audio_fed_in_pieces_gets_the_same_peaks(story: np.ndarray, piece: int) -> None:
    extractor = PeakExtractor()
    for start in range(0, len(story), piece):
        extractor.add(story[start : start + piece])
    assert np.array_equal(extractor.finish(), spectral_peaks(story))


@pytest.mark.parametrize("clip_s", [2.5, 4.0])
def test_a_short_clip_cut_into_other_sound_is_found_in_its_source(story: np.ndarray, clip_s: float) -> None:
    source_at_s, target_at_s = 71.3, 20.017  # off the frame grid
    clip = story[int(source_at_s * SAMPLE_RATE) : int((source_at_s + clip_s) * SAMPLE_RATE)]
    target = speech(seed=2, duration_s=60.0)
    target[int(target_at_s * SAMPLE_RATE) : int(target_at_s * SAMPLE_RATE) + len(clip)] = clip
    # Both files went through their own AAC encode at another bitrate.
    target = aac_round_trip(resample_poly(target, 3, 1).astype(np.float32), 96_000)
    source = aac_round_trip(resample_poly(story, 3, 1).astype(np.float32), 160_000)
    found = quotes(pairs(spectral_peaks(target)), pairs(spectral_peaks(source), jitter=True))
    assert len(found) == 1, found
    assert abs(found[0].offset_s - (source_at_s - target_at_s)) <= 1.5 * FRAME_S
    assert abs(found[0].start_s - target_at_s) <= 0.5
    assert abs(found[0].end_s - (target_at_s + clip_s)) <= 0.7


def test_unrelated_sound_and_another_take_are_not_quotes(story: np.ndarray) -> None:
    mine = pairs(spectral_peaks(story), jitter=True)
    assert quotes(pairs(spectral_peaks(speech(seed=3, duration_s=60.0))), mine) == []
    assert quotes(pairs(spectral_peaks(music_like(seed=4, duration_s=60.0).astype(np.float32))), mine) == []
    # The same lines spoken 3 % slower (another take, as corpus.plan renders one): no clip in common.
    slower = np.interp(np.arange(0, len(story) - 1, 0.97), np.arange(len(story)), story).astype(np.float32)
    assert quotes(pairs(spectral_peaks(slower[: 60 * SAMPLE_RATE])), mine) == []


def test_fingerprints_keep_their_peaks(story: np.ndarray) -> None:
    peaks = spectral_peaks(story)
    prints = Fingerprints(np.zeros(10, np.uint32), np.zeros(3, np.uint64), peaks=peaks)
    assert np.array_equal(Fingerprints.from_bytes(prints.to_bytes()).peaks, peaks)


@pytest.mark.parametrize("n_frames", [1, 10, 21, 64, 500])
def test_the_local_maximum_is_scipys_maximum_filter(n_frames: int) -> None:
    from scipy.ndimage import maximum_filter

    from detector.landmarks import PEAK_BINS, PEAK_FRAMES, _sliding_max

    rng = np.random.default_rng(n_frames)
    spectrum = rng.standard_normal((n_frames, 119)).astype(np.float32)
    spectrum[rng.random(spectrum.shape) < 0.05] = -np.inf  # silent frames are -inf
    ours = _sliding_max(_sliding_max(spectrum, PEAK_BINS, axis=1), PEAK_FRAMES, axis=0)
    expected = maximum_filter(spectrum, size=(PEAK_FRAMES, PEAK_BINS), mode="constant", cval=-np.inf)
    np.testing.assert_array_equal(ours, expected)
