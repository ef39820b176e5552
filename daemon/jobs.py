"""The functions APScheduler runs. Its job store pickles a job as a reference to a module-level function plus its
arguments, so jobs are these functions taking plain text; each hands over to the live daemon bound here.

The binding is the one piece of module state in the daemon: it is set by `Daemon.start` and cleared by `Daemon.stop`,
and a job that fires with nothing bound does nothing (the episode stays pending and is queued again at start).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class JobRunner(Protocol):
    def run_detection(self, path: Path) -> None: ...

    def run_reconcile(self) -> None: ...

    def run_push(self) -> None: ...

    def run_model_check(self) -> None: ...


_runner: JobRunner | None = None


def bind(runner: JobRunner) -> None:
    global _runner
    if _runner is not None and _runner is not runner:
        raise RuntimeError("another daemon is already running in this process")
    _runner = runner


def unbind(runner: JobRunner) -> None:
    global _runner
    if _runner is runner:
        _runner = None


def detect_episode(path: str) -> None:
    runner = _runner
    if runner is None:
        log.debug("not running: %s stays pending", path)
        return
    runner.run_detection(Path(path))


def reconcile() -> None:
    runner = _runner
    if runner is not None:
        runner.run_reconcile()


def push() -> None:
    runner = _runner
    if runner is not None:
        runner.run_push()


def check_lone_model() -> None:
    runner = _runner
    if runner is not None:
        runner.run_model_check()
