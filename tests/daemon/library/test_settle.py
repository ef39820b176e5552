"""Settling: a file is released once, after its size and mtime held still for the settle time."""

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from daemon.library.filter import FileStat, stat_file
from daemon.library.settle import Settler, SettleThread
from tests.conftest import write_slowly

SETTLE_S = 10.0


class FakeDisk:
    def __init__(self) -> None:
        self.files: dict[Path, FileStat] = {}

    def write(self, path: Path, size: int) -> None:
        mtime = self.files[path].mtime_ns + 1 if path in self.files else 1
        self.files[path] = FileStat(size, mtime)

    def stat(self, path: Path) -> FileStat | None:
        return self.files.get(path)


def test_settle_waits_for_quiet_then_releases_once() -> None:
    disk, path = FakeDisk(), Path("/tv/e.mkv")
    settler = Settler(SETTLE_S, disk.stat)
    for t in range(5):  # a copy: an event every second
        disk.write(path, 100 * (t + 1))
        settler.note(path, now=float(t))
    assert settler.due(now=12.0) == []  # 8 s after the last event
    assert settler.next_deadline() == 14.0
    assert settler.due(now=14.0) == [(path, FileStat(500, 5))]
    assert settler.due(now=100.0) == [] and len(settler) == 0


def test_settle_rewaits_when_the_file_changed_without_an_event() -> None:
    disk, path = FakeDisk(), Path("/tv/e.mkv")
    settler = Settler(SETTLE_S, disk.stat)
    disk.write(path, 1)
    settler.note(path, now=0.0)
    disk.write(path, 2)  # e.g. a network share: no event
    assert settler.due(now=10.0) == []
    assert settler.due(now=19.9) == []
    assert settler.due(now=20.0) == [(path, FileStat(2, 2))]


def test_settle_drops_vanished_and_forgotten_files() -> None:
    disk = FakeDisk()
    a, b = Path("/tv/a.mkv"), Path("/tv/b.mkv")
    settler = Settler(SETTLE_S, disk.stat)
    disk.write(a, 1)
    disk.write(b, 1)
    settler.note(a, 0.0)
    settler.note(b, 0.0)
    settler.note(Path("/tv/never.mkv"), 0.0)  # gone before its event was handled
    del disk.files[a]
    settler.forget(b)
    assert settler.due(now=10.0) == [] and len(settler) == 0


def test_settle_releases_many_files_by_their_own_deadlines_once_each() -> None:
    disk = FakeDisk()
    settler = Settler(SETTLE_S, disk.stat)
    paths = [Path(f"/tv/{n}.mkv") for n in range(1000)]
    for n, path in enumerate(paths):
        disk.write(path, 1)
        settler.note(path, now=float(n % 7))  # a scan's burst, arriving out of deadline order
    settler.forget(paths[0])
    settler.note(paths[0], now=30.0)  # forgotten, then seen again: waits from the new note only
    disk.write(paths[1], 2)  # changed without an event: waits once more
    released = settler.due(now=12.0)
    assert sorted(p for p, _ in released) == sorted(p for n, p in enumerate(paths[2:], 2) if n % 7 <= 2)
    assert settler.next_deadline() == 13.0
    released += settler.due(now=22.0)
    assert len(released) == 999 and (paths[1], FileStat(2, 2)) in released  # all but the forgotten one
    assert settler.due(now=39.9) == [] and settler.next_deadline() == 40.0
    assert settler.due(now=40.0) == [(paths[0], FileStat(1, 1))] and settler.due(now=50.0) == []
    assert settler.due(now=100.0) == [] and len(settler) == 0


def test_settle_thread_releases_a_slow_copy_once_complete(tmp_path: Path) -> None:
    released: list[tuple[Path, FileStat]] = []
    done = threading.Event()

    def on_settled(path: Path, stat: FileStat) -> None:
        released.append((path, stat))
        done.set()

    thread = SettleThread(Settler(0.5), on_settled)
    thread.start()
    dest = tmp_path / "e.mkv"
    note: Callable[[Path], None] = thread.note
    started = time.monotonic()
    writer = threading.Thread(target=write_slowly, args=(dest, os.urandom(64 * 1024), 8, 1.6))
    writer.start()
    while writer.is_alive():  # what the watcher would do on each write event
        if dest.exists():
            note(dest)
        time.sleep(0.05)
    note(dest)
    assert done.wait(5.0)
    thread.stop()
    assert time.monotonic() - started >= 1.6 + 0.5
    assert released == [(dest, stat_file(dest))]
