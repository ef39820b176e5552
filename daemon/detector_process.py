"""Detections in a process of their own (`intro-daemon run`), so that between jobs the daemon holds no torch.

torch and the two networks are most of what a daemon held after its first detection (~440 MB, of which the daemon
itself ~90 MB), and a NAS runs the media server beside it. So the detector lives in a child process, started for
the first job and closed after `worker.unload_after_s` without one; the next job starts another (~3 s). A child
that dies mid-detection (killed for memory, a crash inside a decoder) costs that episode an attempt, not the
daemon. The child keeps its fingerprints and analyses in the daemon's database (its own connection), so what it
learnt outlives it.

The child is `python -m daemon.detector_process FD LOADER`: FD is its end of a socket pair, LOADER the
"module:function" that loads the detector (a `ChildLoader`; tests pass a light one). Messages are pickled
(multiprocessing.connection): the parent sends (WorkerConfig, database URL, log level), the child answers
("ready", model version) or ("failed", message), then each request ("detect" | "revisit", path, siblings, settled result or None) gets
("ok", result) or ("error", exception) back.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from daemon.config import WorkerConfig
from daemon.detect import DetectorLoadError, DetectorUnavailable, LoadedDetector
from detector import DecodeError, Detection

log = logging.getLogger(__name__)

# (worker config, database URL) -> the detector, in the child.
ChildLoader = Callable[[WorkerConfig, str], LoadedDetector]
DEFAULT_LOADER = "daemon.detector_process:load_in_child"
_START_TIMEOUT_S = 300.0  # importing torch and loading the weights, on a slow NAS disk with a cold cache
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class DetectorCrashed(Exception):
    """The detection process died, or raised something unexpected; the message says what (the child logged the
    traceback). The episode counts an attempt and is retried (worker.max_attempts)."""


class _ProcessDied(DetectorCrashed):
    """It died: a new one is started for the next detection."""


def load_in_child(config: WorkerConfig, database_url: str) -> LoadedDetector:
    """The production loader: the shipped (or configured) detector with the daemon database's stores."""
    from daemon.detect import load_detector
    from daemon.fingerprints import DatabaseStore
    from db.session import make_engine, make_sessions

    return load_detector(config, DatabaseStore(make_sessions(make_engine(database_url))))


class _Child:
    """One detection process and the parent's end of its socket."""

    def __init__(self, loader: str, config: WorkerConfig, database_url: str) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daemon.detector_process", str(theirs.fileno()), loader],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C at the terminal stops the daemon, which lets it finish its job
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.idle_since = time.monotonic()
        self.conn.send((config, database_url, logging.getLogger().getEffectiveLevel()))
        if not self.conn.poll(_START_TIMEOUT_S):
            self.close()
            raise DetectorLoadError(f"the detection process did not start within {_START_TIMEOUT_S:.0f} s")
        try:
            kind, value = self._receive()
        except DetectorCrashed as e:
            raise DetectorLoadError(f"cannot load the detector: {e}") from None
        if kind != "ready":
            self.close()
            raise DetectorLoadError(value)
        self.model_version: str = value

    def call(
        self, method: str, path: Path, siblings: Sequence[Path], settled: Detection | None = None
    ) -> Detection | None:
        self.conn.send((method, path, list(siblings), settled))
        kind, value = self._receive()
        if kind == "error":
            raise value
        return value

    def _receive(self) -> tuple[str, Any]:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            raise _ProcessDied(self._death()) from None

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            return "the detection process stopped answering"
        if code == -signal.SIGKILL:
            return (
                "the detection process was killed (SIGKILL), most likely for memory (the kernel's OOM killer or the "
                "unit's MemoryMax=); worker.memory_limit_mb below that fails such a file with the ceiling named"
            )
        if code < 0:
            return f"the detection process died of {signal.Signals(-code).name}"
        return f"the detection process exited with status {code}"

    def close(self) -> None:
        """Tell it to exit (it finishes nothing: it is idle, or given up on); killed if it does not."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.conn.close()
        try:
            self.process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class DetectorPool:
    """Detection processes for the daemon's workers: one per detection running at once, each closed after
    `unload_after_s` idle (0: kept). `loaded()` is what the daemon takes (daemon.detect.LoadedDetector)."""

    def __init__(
        self, config: WorkerConfig, database_url: str, *, loader: str = DEFAULT_LOADER, unload_after_s: float = 120.0
    ) -> None:
        """Starts one process at once, for the model version and to fail early: raises DetectorLoadError."""
        self._args = (loader, config, database_url)
        self.unload_after_s = unload_after_s
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._stopping = threading.Event()
        first = _Child(*self._args)
        self.model_version = first.model_version
        self._idle.append(first)
        self._reaper = threading.Thread(target=self._reap, name="detector-unload", daemon=True)
        self._reaper.start()

    def loaded(self) -> LoadedDetector:
        return LoadedDetector(
            detect=self.detect, model_version=self.model_version, stop=self.stop, revisit=self.revisit
        )

    def detect(self, path: Path, siblings: Sequence[Path] = ()) -> Detection:
        detection = self._call("detect", path, siblings)
        assert detection is not None
        return detection

    def revisit(self, path: Path, siblings: Sequence[Path], settled: Detection | None = None) -> Detection | None:
        return self._call("revisit", path, siblings, settled)

    def processes(self) -> list[int]:
        """The pids of the idle detection processes (for tests and benchmarks)."""
        with self._lock:
            return [child.process.pid for child in self._idle]

    def stop(self) -> None:
        """No new detections; the idle processes exit, a running one when its detection returns."""
        self._stopping.set()
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.close()

    def _call(
        self, method: str, path: Path, siblings: Sequence[Path], settled: Detection | None = None
    ) -> Detection | None:
        child = self._acquire()
        try:
            result = child.call(method, path, siblings, settled)
        except _ProcessDied as e:
            child.close()
            if self._stopping.is_set():  # stopped with the service (systemd signals every process of the unit)
                raise DetectorUnavailable(str(e), retry_in_s=None) from None
            raise
        except BaseException:
            self._release(child)
            raise
        self._release(child)
        return result

    def _acquire(self) -> _Child:
        if self._stopping.is_set():
            raise DetectorUnavailable("stopping", retry_in_s=None)
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return _Child(*self._args)
        except DetectorLoadError as e:  # the weights went away since the start, say: retried later
            raise DetectorCrashed(str(e)) from None

    def _release(self, child: _Child) -> None:
        with self._lock:
            if not self._stopping.is_set():
                child.idle_since = time.monotonic()
                self._idle.append(child)
                return
        child.close()

    def _reap(self) -> None:
        while not self._stopping.wait(max(0.2, min(5.0, self.unload_after_s / 4))):
            if self.unload_after_s <= 0:
                continue
            now = time.monotonic()
            with self._lock:
                expired = [c for c in self._idle if now - c.idle_since >= self.unload_after_s]
                self._idle = [c for c in self._idle if c not in expired]
            for child in expired:
                child.close()
                log.info(
                    "detector unloaded after %.0f s without work (the next episode loads it again)",
                    now - child.idle_since,
                )


# --- the child


def _serve(conn: Connection, loader: ChildLoader) -> int:
    config, database_url, level = conn.recv()
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        detector = loader(config, database_url)
    except DetectorLoadError as e:
        conn.send(("failed", str(e)))
        return 2
    conn.send(("ready", detector.model_version))
    while True:
        try:
            request = conn.recv()
        except EOFError:  # the daemon is gone
            return 0
        if request is None:
            return 0
        method, path, siblings, settled = request
        try:
            if method == "detect":
                reply: tuple[str, Any] = ("ok", detector.detect(path, siblings))
            else:
                reply = ("ok", detector.revisit(path, siblings, settled) if detector.revisit is not None else None)
        except DecodeError as e:  # the file's fault: said as it is
            reply = ("error", e)
        except Exception as e:
            log.exception("%s: detection crashed", path)
            reply = ("error", DetectorCrashed(f"{type(e).__name__}: {e}"))
        conn.send(reply)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the closed socket ends it after its current job


def main(argv: Sequence[str]) -> int:
    fd, loader_name = int(argv[0]), argv[1]
    # The daemon blocks its service signals in every thread, and exec keeps the mask: a stop must end us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
    _die_with_parent()
    from detector.memory import release_freed_memory_promptly

    release_freed_memory_promptly()
    module, _, function = loader_name.partition(":")
    loader: ChildLoader = getattr(importlib.import_module(module), function)
    return _serve(Connection(fd), loader)


if __name__ == "__main__":
    # Through the module's own name, so that what is pickled back names daemon.detector_process, not __main__.
    from daemon.detector_process import main as _main

    code = _main(sys.argv[1:])
    logging.shutdown()
    # As the daemon itself exits: without closing the database, so that SQLite's close-time checkpoint does not
    # write its pages over a file the daemon found damaged (the next start must find it as it is, and say so).
    os._exit(code)
