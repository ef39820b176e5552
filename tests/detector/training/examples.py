"""Small labelled examples for the training tests: random sound and pictures, an intro where asked."""

from pathlib import Path

import numpy as np
import torch

from detector.audio import FRAMES_PER_SECOND, N_MELS, SAMPLE_RATE, WINDOW_S
from detector.decode import FRAME_HEIGHT, FRAME_WIDTH
from detector.features import second_labels
from detector.fingerprint import fingerprint
from detector.training.dataset import Example


def example(show: str, episode: int, n_seconds: int = 20, intro: tuple[float, float] | None = (3.0, 9.0)) -> Example:
    rng = np.random.default_rng(episode)
    audio = (0.1 * rng.standard_normal(n_seconds * SAMPLE_RATE)).astype(np.float32)
    frames = rng.integers(0, 256, (n_seconds, FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=np.uint8)
    return Example(
        path=Path(f"/corpus/{show}/Season 01/e{episode}.mkv"),
        show=show,
        season=Path(f"/corpus/{show}/Season 01"),
        truth=intro,
        mel=torch.randn(N_MELS, (n_seconds + WINDOW_S) * FRAMES_PER_SECOND).half(),
        frames=torch.from_numpy(frames),
        labels=torch.from_numpy(second_labels(n_seconds, *(intro or (None, None)))),
        fingerprints=fingerprint(audio, frames),
    )


def three_shows() -> list[Example]:
    """Two episodes of each of three shows."""
    return [example(show, i) for show in ("a", "b", "c") for i in range(2)]
