"""Debounce file events, then wait until a file's size and mtime have held still for the settle time.

A copy in progress fires a stream of events; each one restarts the wait. When the wait ends the file is looked at
again: unchanged since the last look means settled, changed means wait once more. So a file is released only after
`settle_s` without an event and without a change, which also covers writers that produce no events (network shares
seen through polling).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from daemon.library.filter import FileStat, stat_file

log = logging.getLogger(__name__)

StatFn = Callable[[Path], FileStat | None]


@dataclass(frozen=True)
class _Waiting:
    deadline: float  # monotonic seconds
    stat: FileStat


class Settler:
    """The bookkeeping alone, with time passed in: no threads, so tests drive it with a fake clock.

    Deadlines are kept in a heap beside the dict (an entry whose file was noted again or forgotten is dropped when it
    comes up): a reconcile scan notes every file of a library at once, and looking at all of them after each note
    would make queueing 50,000 files quadratic."""

    def __init__(self, settle_s: float, stat: StatFn = stat_file) -> None:
        self.settle_s = settle_s
        self._stat = stat
        self._waiting: dict[Path, _Waiting] = {}
        self._deadlines: list[tuple[float, int, Path]] = []
        self._order = itertools.count()  # breaks ties between equal deadlines without comparing paths

    def __len__(self) -> int:
        return len(self._waiting)

    def note(self, path: Path, now: float) -> None:
        """An event for `path`: (re)start its wait from its current size and mtime."""
        stat = self._stat(path)
        if stat is None:
            self._waiting.pop(path, None)
        else:
            self._wait(path, now + self.settle_s, stat)

    def forget(self, path: Path) -> None:
        self._waiting.pop(path, None)

    def next_deadline(self) -> float | None:
        self._drop_stale()
        return self._deadlines[0][0] if self._deadlines else None

    def due(self, now: float) -> list[tuple[Path, FileStat]]:
        """Files whose wait ended unchanged; changed ones wait again, vanished ones are dropped."""
        settled = []
        while self._drop_stale() and self._deadlines[0][0] <= now:
            _, _, path = heapq.heappop(self._deadlines)
            waiting = self._waiting[path]
            stat = self._stat(path)
            if stat is None:
                del self._waiting[path]
            elif stat == waiting.stat:
                del self._waiting[path]
                settled.append((path, stat))
            else:
                self._wait(path, now + self.settle_s, stat)
        return settled

    def _wait(self, path: Path, deadline: float, stat: FileStat) -> None:
        self._waiting[path] = _Waiting(deadline, stat)
        heapq.heappush(self._deadlines, (deadline, next(self._order), path))

    def _drop_stale(self) -> bool:
        """Pop heap entries that no longer match a waiting file; whether a live one is left on top."""
        while self._deadlines:
            deadline, _, path = self._deadlines[0]
            waiting = self._waiting.get(path)
            if waiting is not None and waiting.deadline == deadline:
                return True
            heapq.heappop(self._deadlines)
        return False


class SettleThread:
    """Runs a `Settler` on its own thread, sleeping until the next deadline or the next event."""

    def __init__(self, settler: Settler, on_settled: Callable[[Path, FileStat], None]) -> None:
        self._settler = settler
        self._on_settled = on_settled
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="settle", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def note(self, path: Path) -> None:
        with self._cond:
            self._settler.note(path, time.monotonic())
            self._cond.notify()

    def forget(self, path: Path) -> None:
        with self._cond:
            self._settler.forget(path)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                deadline = self._settler.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                self._cond.wait(timeout)
                if self._stopping:
                    return
                settled = self._settler.due(time.monotonic())
            for path, stat in settled:  # outside the lock: the callback touches the database and the queue
                try:
                    self._on_settled(path, stat)
                except Exception:
                    log.exception("could not queue %s", path)
