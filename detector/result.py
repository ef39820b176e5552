"""What a detection returns. Plain frozen data, shared by the detector, the daemon and the publishers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Intro:
    start_s: float
    end_s: float
    confidence: float  # 0..1

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Detection:
    path: Path
    duration_s: float  # of the whole file
    intro: Intro | None  # None: the episode has no intro
    model_version: str
    # Per-second intro probability over the analysed part (the first half), index = second.
    scores: tuple[float, ...] = field(default=(), repr=False)
    # Which evidence produced the result, e.g. ("network",) or ("network", "repetition").
    signals: tuple[str, ...] = ()
