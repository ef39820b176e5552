"""Fingerprints: robust to gain, noise, resampling and offsets; unrelated content ~50 % bit error; round trip."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
import scipy.signal

from detector.fingerprint import (
    FP_STEP_S,
    SAMPLE_RATE,
    AudioFingerprinter,
    Fingerprints,
    audio_fingerprint,
    fingerprint,
    picture_hash,
)


def music_like(seed: int, duration_s: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Notes with harmonics and envelopes plus percussive noise bursts: spectro-temporal structure like music."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * rate)) / rate
    out = np.zeros_like(t)
    start_s = 0.0
    while start_s < duration_s:
        length_s = rng.uniform(0.15, 0.6)
        f0_hz = rng.uniform(150, 900)
        inside = (t >= start_s) & (t < start_s + length_s)
        local = t[inside] - start_s
        envelope = np.exp(-local / (length_s / 2))
        for harmonic in range(1, 5):
            out[inside] += envelope * np.sin(2 * np.pi * f0_hz * harmonic * local) / harmonic
        if rng.random() < 0.3:
            burst = inside & (t < start_s + 0.05)
            out[burst] += rng.normal(0, 0.5, burst.sum())
        start_s += length_s
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def bit_error(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b)) - 2  # the last codes' windows run past one signal's end
    return float(np.bitwise_count(a[:n] ^ b[:n]).mean() / 32)


def with_noise(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise_rms = np.sqrt(np.mean(x**2)) / 10 ** (snr_db / 20)
    return (x + rng.normal(0, noise_rms, len(x))).astype(np.float32)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return music_like(seed=1, duration_s=30)


def test_one_code_per_step(clip: np.ndarray) -> None:
    codes = audio_fingerprint(clip)
    assert codes.dtype == np.uint32
    assert len(codes) == round(30 / FP_STEP_S)


def test_gain_and_noise_keep_the_codes(clip: np.ndarray) -> None:
    degraded = with_noise(clip * 0.3, snr_db=30, seed=2)
    assert bit_error(audio_fingerprint(clip), audio_fingerprint(degraded)) < 0.12


def test_offset_not_on_the_step_is_tolerated(clip: np.ndarray) -> None:
    half_step = int(SAMPLE_RATE * FP_STEP_S / 2)  # the worst case: half a step
    assert bit_error(audio_fingerprint(clip), audio_fingerprint(clip[half_step:])) < 0.2


def test_resampled_from_48k_keeps_the_codes() -> None:
    original_48k = music_like(seed=3, duration_s=20, rate=48000)
    direct = scipy.signal.resample_poly(original_48k, 1, 3).astype(np.float32)
    via_44k = scipy.signal.resample_poly(scipy.signal.resample_poly(original_48k, 147, 160), 160, 441)
    assert bit_error(audio_fingerprint(direct), audio_fingerprint(via_44k.astype(np.float32))) < 0.1


def test_unrelated_audio_is_half_different(clip: np.ndarray) -> None:
    other = music_like(seed=9, duration_s=30)
    assert 0.42 < bit_error(audio_fingerprint(clip), audio_fingerprint(other)) < 0.58


def test_silence_gets_the_no_information_code() -> None:
    quiet = np.concatenate([np.zeros(SAMPLE_RATE * 3), music_like(seed=4, duration_s=3) * 1e-4])
    assert not audio_fingerprint(quiet.astype(np.float32)).any()
    assert len(audio_fingerprint(np.zeros(0, dtype=np.float32))) == 0


def test_other_sample_rates_are_refused(clip: np.ndarray) -> None:
    with pytest.raises(ValueError, match="16000"):
        audio_fingerprint(clip, sample_rate=44100)


def random_pictures(seed: int, n: int) -> np.ndarray:
    """Smooth random images (blobs), like downscaled video frames rather than white noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (n, 9, 16, 3)).astype(np.float32)
    return np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2).astype(np.uint8)  # (n, 72, 128, 3)


def test_picture_hash_survives_rescaling_and_noise() -> None:
    frames = random_pictures(seed=5, n=20)
    # A 480p-like encode: down to 64x36, back up, with coding noise.
    small = frames[:, ::2, ::2].astype(np.float32)
    back = np.repeat(np.repeat(small, 2, axis=1), 2, axis=2)
    noisy = np.clip(back + np.random.default_rng(6).normal(0, 4, back.shape), 0, 255).astype(np.uint8)
    distance = np.bitwise_count(picture_hash(frames) ^ picture_hash(noisy))
    assert distance.mean() < 4


def test_picture_hash_tells_pictures_apart_and_flags_flat_frames() -> None:
    hashes = picture_hash(random_pictures(seed=7, n=20))
    others = picture_hash(random_pictures(seed=8, n=20))
    assert 24 < np.bitwise_count(hashes ^ others).mean() < 40
    black = np.zeros((2, 72, 128, 3), dtype=np.uint8)
    assert not picture_hash(black).any()
    assert picture_hash(black[:0]).shape == (0,)


def test_bytes_round_trip_and_version_check(clip: np.ndarray) -> None:
    prints = fingerprint(clip, random_pictures(seed=7, n=30))
    restored = Fingerprints.from_bytes(prints.to_bytes())
    assert np.array_equal(restored.audio, prints.audio)
    assert np.array_equal(restored.picture, prints.picture)
    assert restored.audio_step_s == prints.audio_step_s
    assert restored.n_seconds == 30
    assert len(prints.to_bytes()) < 4 * len(prints.audio) + 8 * 30 + 48
    corrupted = bytearray(prints.to_bytes())
    corrupted[4] = 99  # the format version byte
    with pytest.raises(ValueError, match="format"):
        Fingerprints.from_bytes(bytes(corrupted))
    with pytest.raises(ValueError):
        Fingerprints.from_bytes(prints.to_bytes()[:-3])


def aac_round_trip(samples_48k: np.ndarray, bit_rate: int) -> np.ndarray:
    """Encode mono 48 kHz float audio to AAC in memory, decode, resample to 16 kHz (what decoding does)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.bit_rate = bit_rate
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples_48k.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = 48000
        frame.pts = 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    buffer.seek(0)
    chunks = []
    with av.open(buffer, "r") as source:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for decoded in source.decode(audio=0):
            chunks += [r.to_ndarray().reshape(-1) for r in resampler.resample(decoded)]
        chunks += [r.to_ndarray().reshape(-1) for r in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


def test_aac_reencode_keeps_the_codes() -> None:
    original_48k = music_like(seed=10, duration_s=20, rate=48000)
    reference = scipy.signal.resample_poly(original_48k, 1, 3).astype(np.float32)
    encoded = aac_round_trip(original_48k * 0.5, bit_rate=48000)
    assert bit_error(audio_fingerprint(reference), audio_fingerprint(encoded)) < 0.12


@pytest.mark.parametrize("n_samples", [0, 100, 1600, 16000 * 13 + 77])
@pytest.mark.parametrize("piece", [333, 7919, 48000])
def test_audio_fed_in_pieces_gets_the_same_codes(n_samples: int, piece: int) -> None:
    rng = np.random.default_rng(n_samples)
    t = np.arange(n_samples)
    samples = (0.3 * rng.standard_normal(n_samples) * np.sin(t / 30000) + 0.2 * np.sin(t / 9)).astype(np.float32)
    stream = AudioFingerprinter()
    for start in range(0, n_samples, piece):
        stream.add(samples[start : start + piece])
    assert np.array_equal(stream.finish(), audio_fingerprint(samples))
