import numpy as np
import pytest
import torch

from detector.audio import (
    FRAMES_PER_SECOND,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    WINDOW_S,
    EpisodeLogMel,
    episode_log_mel,
    mel_filters,
    spectral_change,
)


def tone(freq_hz: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def test_mel_filters_cover_the_spectrum_without_gaps():
    bank = mel_filters()
    assert bank.shape == (N_MELS, N_FFT // 2 + 1)
    assert torch.all(bank >= 0)
    assert torch.all(bank.sum(dim=1) > 0), "every mel band must see some FFT bins"


def test_episode_log_mel_has_fifty_frames_per_second_plus_the_padding():
    mel = episode_log_mel(tone(440, 12), n_seconds=12)
    assert mel.shape == (N_MELS, (12 + WINDOW_S) * FRAMES_PER_SECOND)
    assert float(mel.max()) == 1.0 and float(mel.min()) >= -1.0


def test_prepended_silence_is_silent_and_the_tone_sits_in_its_band():
    mel = episode_log_mel(tone(1000, 8), n_seconds=8)
    pad = (WINDOW_S // 2) * FRAMES_PER_SECOND
    assert float(mel[:, 5 : pad - 5].max()) == float(mel.min()), "the leading pad must be at the floor"
    body = mel[:, pad + 10 : pad + 100].mean(dim=1)
    centres = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1) @ mel_filters().numpy().T / mel_filters().sum(1).numpy()
    assert abs(centres[int(body.argmax())] - 1000) < 150


def test_loudness_drops_out():
    quiet = episode_log_mel(tone(440, 6, amplitude=0.01), 6)
    loud = episode_log_mel(tone(440, 6, amplitude=0.8), 6)
    pad = (WINDOW_S // 2) * FRAMES_PER_SECOND
    assert torch.allclose(quiet[:, pad + 5 : -pad - 5], loud[:, pad + 5 : -pad - 5], atol=1e-3)


def test_short_audio_is_padded_to_the_requested_seconds():
    mel = episode_log_mel(tone(440, 3), n_seconds=5)
    assert mel.shape[1] == (5 + WINDOW_S) * FRAMES_PER_SECOND


@pytest.mark.parametrize("piece", [319, 7919, 16000, 100_000])
def test_log_mel_fed_in_pieces_equals_the_whole(piece: int) -> None:
    rng = np.random.default_rng(3)
    n_seconds = 13
    samples = (rng.standard_normal(n_seconds * SAMPLE_RATE) * np.linspace(0, 0.5, n_seconds * SAMPLE_RATE)).astype(
        np.float32
    )
    whole = episode_log_mel(samples, n_seconds)
    stream = EpisodeLogMel(n_seconds)
    for start in range(0, len(samples), piece):
        stream.add(samples[start : start + piece])
    streamed = stream.finish()
    assert streamed.shape == whole.shape
    assert torch.allclose(streamed, whole, atol=1e-5), (streamed - whole).abs().max()


def _chord_then_vowels(seconds_each: int) -> np.ndarray:
    """A held chord, then a voice-like buzz whose two formants jump every 0.2 s (a syllable)."""
    rate = SAMPLE_RATE
    t = np.arange(seconds_each * rate) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    rng = np.random.default_rng(0)
    syllables = []
    for _ in range(seconds_each * 5):
        n = rate // 5
        tt = np.arange(n) / rate
        f1, f2 = rng.uniform(300, 900), rng.uniform(1000, 2500)
        syllables.append(np.sin(2 * np.pi * f1 * tt) + 0.7 * np.sin(2 * np.pi * f2 * tt))
    return np.concatenate([chord, np.concatenate(syllables)]).astype(np.float32)


def test_spectral_change_is_low_over_a_held_chord_and_high_over_syllables():
    seconds = 20
    mel = episode_log_mel(_chord_then_vowels(seconds // 2), seconds).unsqueeze(0)
    change = spectral_change(mel, seconds)[0]
    assert change.shape == (seconds,)
    chord, voice = change[1:8], change[12:19]  # away from the switch at 10 s (a 3 s window)
    assert float(voice.min()) > float(chord.max()) + 1.0, (chord, voice)
    assert abs(float(change.median())) < 1e-6, "relative to the episode's own median"
