"""How a detection's per-second scores are stored (`DetectionRecord.scores`): little-endian float16, 2 bytes a
second, plenty for a 0..1 curve."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode_scores(scores: Sequence[float]) -> bytes:
    return np.asarray(scores, dtype="<f2").tobytes()


def decode_scores(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)
