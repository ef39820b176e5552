"""How the daemon sees the detector: a `detect` callable plus the model version it stamps on results.

Tests pass a fake; production loads `detector.Detector` once (lazily: importing torch is slow, and commands like
`status` never need it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from daemon.config import WorkerConfig
from detector import Detection

if TYPE_CHECKING:  # importing it at run time pulls in the decoder; only load_detector needs it, lazily
    from detector.season import FingerprintStore


class DetectFn(Protocol):
    def __call__(self, path: Path, siblings: Sequence[Path] = ()) -> Detection:
        """Find the intro of `path`; `siblings` are the other episodes of its season. Raises `DecodeError`."""
        ...


# (path, siblings, settled): see detector.Detector.revisit.
RevisitFn = Callable[[Path, Sequence[Path], Detection | None], Detection | None]


@dataclass(frozen=True)
class LoadedDetector:
    detect: DetectFn
    model_version: str
    # Called when the daemon stops: gives back detections running elsewhere (daemon/cluster/); nothing for ours.
    stop: Callable[[], None] = lambda: None
    # Decides an earlier episode again from what is stored, without decoding, now that it has these siblings;
    # with its settled result, only its recap, credits and preview. None: nothing to decide again. None here: the
    # detector cannot (a fake).
    revisit: RevisitFn | None = None


class DetectorUnavailable(Exception):
    """The detector cannot run now (the cluster's scheduler is away): the episode goes back to pending, to be
    tried again in `retry_in_s` (None: the daemon is stopping)."""

    def __init__(self, message: str, retry_in_s: float | None = 60.0) -> None:
        super().__init__(message)
        self.retry_in_s = retry_in_s


DetectorLoader = Callable[[WorkerConfig, "FingerprintStore | None"], LoadedDetector]


class DetectorLoadError(Exception):
    """The weights cannot be loaded (missing, unreadable, another format); the message says which file."""


def load_detector(config: WorkerConfig, store: FingerprintStore | None = None) -> LoadedDetector:
    """`store`: where the season context (siblings' fingerprints) is kept; None: in memory only."""
    from detector import Detector

    try:
        detector = Detector.load(
            config.weights,
            lone_weights=config.lone_weights,
            threads=config.torch_threads,
            store=store,
            languages=config.audio_languages,
            memory_limit_mb=config.memory_limit_mb or None,
            cascade=config.cascade,
        )
    except (OSError, ValueError) as e:
        which = " and ".join(str(w) for w in (config.weights, config.lone_weights) if w) or "the shipped weights"
        raise DetectorLoadError(f"cannot load the detector ({which}): {e}") from e
    return LoadedDetector(detect=detector.detect, model_version=detector.model_version, revisit=detector.revisit)
