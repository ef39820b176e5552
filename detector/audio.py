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
    return normalise_log_mel(_log10_mel(power, n_mels))


def _log10_mel(power: torch.Tensor, n_mels: int = N_MELS) -> torch.Tensor:
    mel = mel_filters(n_mels).to(power.device) @ power
    return torch.clamp(mel, min=1e-10).log10()


def normalise_log_mel(log_spec: torch.Tensor) -> torch.Tensor:
    """log10 mel power -> roughly [-1, 1]: 80 dB below the loudest frame is the floor. In place (half an hour of
    log-mel is 23 MB; no copies of it)."""
    loudest = log_spec.max().item()
    return log_spec.clamp_(min=loudest - 8.0).sub_(loudest).div_(4.0).add_(1.0)


def episode_log_mel(samples: np.ndarray, n_seconds: int) -> torch.Tensor:
    """Log-mel of the first n_seconds of an episode, silence-padded: (N_MELS, (n_seconds + WINDOW_S) * 50).

    Audio shorter than n_seconds is padded with silence (the decoder already rejected truncated files).
    """
    wanted = n_seconds * SAMPLE_RATE
    audio = torch.from_numpy(np.ascontiguousarray(samples[:wanted], dtype=np.float32))
    if audio.numel() < wanted:
        audio = torch.nn.functional.pad(audio, (0, wanted - audio.numel()))
    return log_mel_spectrogram(pad_silence(audio))


class EpisodeLogMel:
    """`episode_log_mel` of audio that arrives in pieces, so that an episode's samples never sit in memory at
    once: only the log-mel (12.8 kB a second) is kept. Feed exactly n_seconds * SAMPLE_RATE samples to `add`.

    The whole-signal STFT centres its frames and reflect-pads the ends; here the ends are the padding's silence,
    whose reflection is silence too, so frame t is simply samples [t * HOP, t * HOP + N_FFT) of the padded
    signal with N_FFT / 2 more zeros in front.
    """

    def __init__(self, n_seconds: int, n_mels: int = N_MELS) -> None:
        self.n_mels = n_mels
        self.n_frames = (n_seconds + WINDOW_S) * FRAMES_PER_SECOND
        self._log_spec = torch.empty((n_mels, self.n_frames))
        self._done = 0  # frames computed
        self._window = torch.hann_window(N_FFT)
        self._pending = torch.zeros(N_FFT // 2 + PAD_SAMPLES)  # from the start of frame `_done`

    def add(self, samples: np.ndarray) -> None:
        pending = torch.cat([self._pending, torch.from_numpy(np.asarray(samples, dtype=np.float32))])
        n = min(self.n_frames - self._done, (len(pending) - N_FFT) // HOP_LENGTH + 1)
        if n <= 0:
            self._pending = pending
            return
        used = pending[: (n - 1) * HOP_LENGTH + N_FFT]
        stft = torch.stft(used, N_FFT, HOP_LENGTH, window=self._window, center=False, return_complex=True)
        self._log_spec[:, self._done : self._done + n] = _log10_mel(stft.abs() ** 2, self.n_mels)
        self._done += n
        self._pending = pending[n * HOP_LENGTH :]

    def finish(self) -> torch.Tensor:
        """The normalised log-mel, as `episode_log_mel` gives it: (N_MELS, (n_seconds + WINDOW_S) * 50)."""
        self.add(np.zeros(PAD_SAMPLES + N_FFT // 2, np.float32))  # the trailing silence, then the centring
        if self._done < self.n_frames:
            raise ValueError(f"EpisodeLogMel: {self._done} of {self.n_frames} frames; fed too few samples")
        return normalise_log_mel(self._log_spec)


CHANGE_WINDOW_FRAMES = 3 * FRAMES_PER_SECOND  # spectral change averaged over the 3 s centred on each second


def spectral_change(mel: torch.Tensor, n_seconds: int) -> torch.Tensor:
    """(B, n_mels, (n_seconds + WINDOW_S) * 50) padded log-mel -> (B, n_seconds) how fast the spectrum's shape
    changes around each second, relative to the episode's own usual rate (log, minus its median).

    Speech moves its formants every syllable; a theme holds its chords and notes. Of the simple sound measures
    tried this was the one whose order (story above intro) held on recorded voices, the procedural generator's
    and another recipe's synthetic ones alike; its level did not, hence relative to the episode (docs/training.md,
    "The position prior"). Frame to frame: 1 - cosine of the two mean-removed spectra."""
    shape = mel - mel.mean(dim=1, keepdim=True)
    shape = shape / (shape.norm(dim=1, keepdim=True) + 1e-6)
    change = 1.0 - (shape[..., 1:] * shape[..., :-1]).sum(dim=1)  # (B, frames - 1)
    change = torch.cat([change[..., :1], change], dim=-1)
    # Second 0 of the file is the padded signal's second PAD_S; window j is centred on second j's middle.
    first = PAD_S * FRAMES_PER_SECOND + FRAMES_PER_SECOND // 2 - CHANGE_WINDOW_FRAMES // 2
    windows = change[..., first : first + (n_seconds - 1) * FRAMES_PER_SECOND + CHANGE_WINDOW_FRAMES]
    pooled = torch.nn.functional.avg_pool1d(windows.unsqueeze(1), CHANGE_WINDOW_FRAMES, stride=FRAMES_PER_SECOND)
    rate = pooled[:, 0].clamp(min=1e-4).log()
    return rate - rate.median(dim=1, keepdim=True).values
