"""What runs inside a Dask worker: the detector, loaded once per worker process, and one detection per task.

Start a worker with `dask worker tcp://host:8786 --nthreads 1 --preload daemon.cluster.remote` (the preload loads
the detector before the first task arrives; `--nthreads 1`: the network uses every core of the machine already).
The daemon sends paths as this worker sees them (its `[[cluster.path_maps]]`) and the siblings' fingerprints it has
stored; the worker sends back the detection and the fingerprints it had to compute, for the daemon to store.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from detector.fingerprint import Fingerprints
from detector.result import Detection

if TYPE_CHECKING:
    from detector.inference import Detector

log = logging.getLogger(__name__)

_lock = threading.Lock()  # one detection at a time per process: the detector keeps per-season state
_detector: Detector | None = None


@dataclass(frozen=True)
class Request:
    path: str  # as the worker sees it
    siblings: tuple[str, ...]
    fingerprints: dict[str, bytes]  # sibling (as the worker sees it) -> its stored fingerprints
    model_version: str  # the daemon's: a worker with other weights must not answer for it
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    detection: Detection  # its path as the worker sees it
    fingerprints: dict[str, bytes]  # computed here: this episode's and siblings' the daemon did not have
    worker: str  # who computed it, for `status`


class ModelMismatch(Exception):
    """The worker's detector is not the daemon's: results would not be comparable with the stored ones."""


class _GivenStore:
    """The fingerprints the daemon sent, and those computed here (sent back)."""

    def __init__(self, given: dict[str, bytes]) -> None:
        self._items = {path: Fingerprints.from_bytes(data) for path, data in given.items()}
        self.new: dict[str, Fingerprints] = {}

    def get(self, path: Path) -> Fingerprints | None:
        return self._items.get(str(path))

    def put(self, path: Path, fingerprints: Fingerprints) -> None:
        self._items[str(path)] = fingerprints
        self.new[str(path)] = fingerprints


def detect(request: Request) -> Reply:
    """The task the daemon submits."""
    from distributed import get_worker

    with _lock:
        detector = _loaded(request.languages)
        if detector.model_version != request.model_version:
            raise ModelMismatch(
                f"worker {socket.gethostname()} runs model {detector.model_version}, the daemon "
                f"{request.model_version}: install the same intro-daemon version on both"
            )
        store = _GivenStore(request.fingerprints)
        detector.store = store
        detection = detector.detect(Path(request.path), [Path(s) for s in request.siblings])
    new = {path: fingerprints.to_bytes() for path, fingerprints in store.new.items()}
    return Reply(detection, new, worker=_name(get_worker()))


def _loaded(languages: tuple[str, ...] = ()) -> Detector:
    global _detector
    if _detector is None or _detector.languages != languages:
        from detector.inference import Detector

        _detector = Detector.load(languages=languages, device="auto")  # the worker's GPU, when its torch sees one
        log.info("intro-daemon detector loaded: model %s on %s", _detector.model_version, _detector.device)
    return _detector


def _name(worker: Any) -> str:
    return str(getattr(worker, "name", None) or worker.address)


def dask_setup(worker: Any) -> None:
    """`--preload daemon.cluster.remote`: load the detector now, not on the first task."""
    with _lock:
        _loaded()
