"""The watcher (inotify and polling): library changes reported as the sink's calls."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.config import LibraryConfig
from daemon.library.filter import LibraryFilter
from daemon.library.watch import Watcher


class Recorder:
    """A LibrarySink that writes down what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.cond = threading.Condition()

    def _add(self, *call: str) -> None:
        with self.cond:
            self.calls.append(call)
            self.cond.notify_all()

    def changed(self, path: Path) -> None:
        self._add("changed", path.name)

    def deleted(self, path: Path) -> None:
        self._add("deleted", path.name)

    def moved(self, src: Path, dest: Path) -> None:
        self._add("moved", src.name, dest.name)

    def folder_deleted(self, path: Path) -> None:
        self._add("folder_deleted", path.name)

    def folder_moved(self, src: Path, dest: Path) -> None:
        self._add("folder_moved", src.name, dest.name)

    def wait_for(self, call: tuple[str, ...], timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: call in self.calls, timeout), f"{call} not in {self.calls}"


@pytest.fixture(params=[False, True], ids=["inotify", "polling"])
def watched(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Recorder]]:
    root = tmp_path / "lib"
    (root / "S1").mkdir(parents=True)
    config = LibraryConfig(folders=(root,), polling=request.param, poll_interval_s=0.2)
    recorder = Recorder()
    watcher = Watcher(config, LibraryFilter(config), recorder)
    watcher.start()
    yield root, recorder
    watcher.stop()


def test_observer_reports_library_changes(watched: tuple[Path, Recorder]) -> None:
    root, rec = watched
    season = root / "S1"
    (season / "e1.mkv.part").write_bytes(b"abc")
    (season / ".e0.mkv").write_bytes(b"abc")
    (season / "e1.mkv.part").rename(season / "e1.mkv")  # a download completing
    rec.wait_for(("changed", "e1.mkv"))
    (season / "e1.mkv").rename(season / "one.mkv")
    rec.wait_for(("moved", "e1.mkv", "one.mkv"))
    (season / "one.mkv").rename(season / "one.mkv.bak")  # renamed out of the episodes
    rec.wait_for(("deleted", "one.mkv"))
    (season / "e2.mkv").write_bytes(b"x")
    rec.wait_for(("changed", "e2.mkv"))
    (season / "e2.mkv").unlink()
    rec.wait_for(("deleted", "e2.mkv"))
    time.sleep(0.5)  # let any late events for the files above arrive before the last checks
    assert not [c for c in rec.calls if any(n.startswith(".") or n.endswith((".part", ".bak")) for n in c[1:])]


def test_observer_reports_folder_moves_and_deletions(watched: tuple[Path, Recorder]) -> None:
    root, rec = watched
    (root / "S1" / "e1.mkv").write_bytes(b"x")
    rec.wait_for(("changed", "e1.mkv"))
    (root / "S1").rename(root / "Season 1")
    rec.wait_for(("folder_moved", "S1", "Season 1"))
    for f in (root / "Season 1").iterdir():
        f.unlink()
    (root / "Season 1").rmdir()
    rec.wait_for(("folder_deleted", "Season 1"))


def test_a_folder_moved_in_from_outside_is_walked(tmp_path: Path, watched: tuple[Path, Recorder]) -> None:
    root, rec = watched
    outside = tmp_path / "incoming" / "S2"
    outside.mkdir(parents=True)
    (outside / "e5.mkv").write_bytes(b"x")
    outside.rename(root / "S2")
    rec.wait_for(("changed", "e5.mkv"))
