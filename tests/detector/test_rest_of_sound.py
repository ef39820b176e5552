"""The sound after the analysed span (credits, previews): decoded alone, it gives the codes a decode from the start
gives at the same times, whatever the container, and fingerprints keep it through their bytes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from detector.decode import decode
from detector.features import extract_sound, rest_of_sound
from detector.fingerprint import FP_STEP_S, Fingerprints, audio_fingerprint

SECONDS = 40


def _write(path: Path, sample_rate: int) -> Path:
    """Noise bursts of random lengths and pitches (sound whose codes change), a grey picture."""
    rng = np.random.default_rng(5)
    n = SECONDS * sample_rate
    sound = np.zeros(n, np.float32)
    at = 0
    while at < n:
        length = int(rng.integers(sample_rate // 10, sample_rate // 2))
        t = np.arange(min(length, n - at)) / sample_rate
        sound[at : at + len(t)] = 0.3 * np.sin(2 * np.pi * rng.uniform(300, 3000) * t) * rng.uniform(0.2, 1)
        at += length
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=5, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=sample_rate)
        for i in range(SECONDS * 5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 5)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for start in range(0, n, 1024):
            chunk = av.AudioFrame.from_ndarray(sound[start : start + 1024].reshape(1, -1), format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = sample_rate, start
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))
    return path


@pytest.mark.parametrize(("name", "rate"), [("a.mkv", 48000), ("b.mp4", 44100)])
def test_the_rest_gives_the_codes_of_a_decode_from_the_start(tmp_path: Path, name: str, rate: int) -> None:
    path = _write(tmp_path / name, rate)
    whole = decode(path, max_seconds=None, pictures=False)
    assert whole.n_seconds == SECONDS // 2
    rest = rest_of_sound(path, whole.n_seconds, whole.info.duration_s)
    assert rest is not None and rest.start_s == SECONDS // 2
    assert abs(len(rest.codes) * FP_STEP_S - (whole.info.duration_s - rest.start_s)) <= 0.2
    # The reference: every sample of the file from a plain decode, fingerprinted in one piece.
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        samples = np.concatenate(
            [o.to_ndarray().reshape(-1) for f in container.decode(audio=0) for o in resampler.resample(f)]
        )
    reference = audio_fingerprint(samples)
    first = round(rest.start_s / FP_STEP_S)
    # Away from the cut's own edge (the codes look 3 s around them), the same codes at the same times.
    inner = slice(40, len(rest.codes) - 40)
    same_bits = 32 - np.bitwise_count(rest.codes[inner] ^ reference[first:][inner]).astype(float)
    assert same_bits.mean() >= 31, same_bits.mean()


def test_sound_features_carry_the_rest_through_their_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.mkv", 48000)
    features = extract_sound(path, with_rest=True)
    fingerprints = Fingerprints.from_bytes(features.fingerprints().to_bytes())
    assert fingerprints.rest_start_s == SECONDS // 2
    assert np.array_equal(fingerprints.rest_audio, features.rest.codes if features.rest else None)
    sound = fingerprints.sound()
    assert len(sound) == round(fingerprints.rest_start_s / FP_STEP_S) + len(fingerprints.rest_audio)
    assert np.array_equal(sound[: len(fingerprints.audio)], fingerprints.audio)
    # Without the rest: just the span's codes, as before.
    assert np.array_equal(extract_sound(path).fingerprints().sound(), fingerprints.audio)


def test_threaded_sound_features_are_those_of_one_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cascade's sound pass computes the codes and peaks on a second thread, the rest's too: the same bytes as
    on one thread, batches queued and waited for included."""
    import detector.features as features

    path = _write(tmp_path / "d.mkv", 48000)
    monkeypatch.setattr(features, "BATCH_SAMPLES", 16000)  # 1 s batches: 20 of them ...
    monkeypatch.setattr(features, "MAX_QUEUED_BATCHES", 1)  # ... the decoder waiting for the worker
    alone = extract_sound(path, with_rest=True).fingerprints().to_bytes()
    threaded = extract_sound(path, with_rest=True, threaded=True)
    assert threaded.fingerprints().to_bytes() == alone
    assert threaded.rest is not None and threaded.peaks is not None and len(threaded.peaks) > 0


def test_a_file_that_fails_in_the_threaded_sound_pass_says_so(tmp_path: Path) -> None:
    from detector.errors import DecodeError

    path = tmp_path / "broken.mkv"
    path.write_bytes(_write(tmp_path / "e.mkv", 48000).read_bytes()[:4000])
    with pytest.raises(DecodeError, match=r"broken\.mkv"):
        extract_sound(path, with_rest=True, threaded=True)
