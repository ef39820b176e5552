"""Audio front end: log-mel spectrogram with torch.stft and a mel filter bank (no torchaudio).

Every second t of an episode is described by the 10 s of sound centred on it (the seed design). To give the
first and last seconds a full window, 5 s of silence go before the audio (the seed) and after it (ours).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

SAMPLE_RATE = 16000
N_FFT = 512  # 32 ms analysis window
HOP_LENGTH = 320  # 20 ms
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 50 spectrogram frames per second
N_MELS = 64
F_MIN_HZ = 50.0
F_MAX_HZ = SAMPLE_RATE / 2

WINDOW_S = 10  # sound context per second
PAD_S = WINDOW_S // 2  # silence before (and after) the audio
PAD_SAMPLES = PAD_S * SAMPLE_RATE


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@lru_cache(maxsize=4)
def mel_filters(n_mels: int = N_MELS) -> torch.Tensor:
    """Triangular HTK-style mel filter bank, shape (n_mels, N_FFT // 2 + 1), each filter area-normalised."""
    fft_hz = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(np.array(F_MIN_HZ)), _hz_to_mel(np.array(F_MAX_HZ)), n_mels + 2))
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (fft_hz[None, :] - lower) / (centre - lower)
    falling = (upper - fft_hz[None, :]) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank *= 2.0 / (upper - lower)  # equal energy per filter (Slaney normalisation)
    return torch.from_numpy(bank.astype(np.float32))


def pad_silence(samples: torch.Tensor) -> torch.Tensor:
    """PAD_S seconds of silence on both sides, so that every second has a centred WINDOW_S window."""
    return torch.nn.functional.pad(samples, (PAD_SAMPLES, PAD_SAMPLES))


def log_mel_spectrogram(samples: torch.Tensor, n_mels: int = N_MELS) -> torch.Tensor:
    """Mono float samples at SAMPLE_RATE -> (n_mels, len(samples) // HOP_LENGTH) log-mel, roughly in [-1, 1].

    Normalised against the loudest frame (as whisper does), so that the episode's overall loudness drops out.
    """
    window = torch.hann_window(N_FFT, device=samples.device)
    stft = torch.stft(samples, N_FFT, HOP_LENGTH, window=window, return_complex=True)
    power = stft[..., :-1].abs() ** 2  # center=True yields one frame too many
    mel = mel_filters(n_mels).to(samples.device) @ power
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec - log_spec.max()) / 4.0 + 1.0


def episode_log_mel(samples: np.ndarray, n_seconds: int) -> torch.Tensor:
    """Log-mel of the first n_seconds of an episode, silence-padded: (N_MELS, (n_seconds + WINDOW_S) * 50).

    Audio shorter than n_seconds is padded with silence (the decoder already rejected truncated files).
    """
    wanted = n_seconds * SAMPLE_RATE
    audio = torch.from_numpy(np.ascontiguousarray(samples[:wanted], dtype=np.float32))
    if audio.numel() < wanted:
        audio = torch.nn.functional.pad(audio, (0, wanted - audio.numel()))
    return log_mel_spectrogram(pad_silence(audio))
