"""What the network reads for one episode: the padded log-mel of the analysed span and one picture per second."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from detector.audio import episode_log_mel
from detector.decode import FrameMode, decode


@dataclass(frozen=True)
class EpisodeFeatures:
    n_seconds: int  # analysed seconds (the first half)
    duration_s: float  # of the whole file
    mel: torch.Tensor  # (N_MELS, (n_seconds + WINDOW_S) * FRAMES_PER_SECOND) float32
    frames: torch.Tensor  # (n_seconds, FRAME_HEIGHT, FRAME_WIDTH, 3) uint8
    audio: np.ndarray  # (n_seconds * SAMPLE_RATE,) float32: kept for fingerprinting


def extract(
    path: str | Path,
    frame_mode: FrameMode = FrameMode.ALL,
    max_seconds: int | None = None,
    languages: Sequence[str] = (),
) -> EpisodeFeatures:
    media = decode(path, frame_mode, max_seconds, languages)
    return EpisodeFeatures(
        n_seconds=media.n_seconds,
        duration_s=media.info.duration_s,
        mel=episode_log_mel(media.audio, media.n_seconds),
        frames=torch.from_numpy(media.frames),
        audio=media.audio,
    )


def second_labels(n_seconds: int, start_s: float | None, end_s: float | None) -> np.ndarray:
    """1 for the seconds whose centre lies inside [start_s, end_s), else 0."""
    centres = np.arange(n_seconds) + 0.5
    if start_s is None or end_s is None:
        return np.zeros(n_seconds, np.float32)
    return ((centres >= start_s) & (centres < end_s)).astype(np.float32)
