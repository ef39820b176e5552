import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.config import LibraryConfig
from daemon.library.filter import FileStat, LibraryFilter, stat_file
from daemon.library.settle import Settler, SettleThread
from daemon.library.watch import Watcher

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


def library(root: Path, **kw: object) -> LibraryFilter:
    return LibraryFilter(LibraryConfig(folders=(root,), **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rel", "ok"),
    [
        ("Show/S01/e01.mkv", True),
        ("Show/S01/e01.MP4", True),
        ("e01.mkv", True),
        ("Show/S01/e01.mkv.part", False),
        ("Show/S01/e01.mkv.!qB", False),
        ("Show/S01/e01.mkv.crdownload", False),
        ("Show/S01/e01.part.mkv", True),
        ("Show/S01/e01.tmp", False),
        ("Show/S01/.e01.mkv", False),
        ("Show/.hidden/e01.mkv", False),
        ("Show/@eaDir/e01.mkv", False),
        ("Show/S01/e01.nfo", False),
        ("Show/S01/e01.srt", False),
    ],
)
def test_library_filter(tmp_path: Path, rel: str, ok: bool) -> None:
    lib = library(tmp_path / ".lib")  # a hidden library root itself is fine: only names below it count
    assert lib.accepts(tmp_path / ".lib" / rel) is ok
    assert not lib.accepts(tmp_path / "elsewhere" / "e01.mkv")


def test_walk_and_siblings(tmp_path: Path) -> None:
    for rel in ("S1/b.mkv", "S1/a.mkv", "S1/c.mkv.part", "S1/notes.txt", "S2/a.mp4", ".trash/x.mkv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "S1" / "folder.mkv").mkdir()
    lib = library(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in lib.walk()] == ["S1/a.mkv", "S1/b.mkv", "S2/a.mp4"]
    assert lib.siblings(tmp_path / "S1" / "b.mkv") == [tmp_path / "S1" / "a.mkv"]


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


def copy_slowly(src: Path, dest: Path, chunks: int, seconds: float) -> None:
    data = src.read_bytes() if src.exists() else os.urandom(64 * 1024)
    step = -(-len(data) // chunks)
    with dest.open("wb") as f:
        for start in range(0, len(data), step):
            f.write(data[start : start + step])
            f.flush()
            time.sleep(seconds / chunks)


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
    writer = threading.Thread(target=copy_slowly, args=(tmp_path / "none", dest, 8, 1.6))
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


def test_a_lone_episode_borrows_siblings_from_the_shows_nearest_seasons(tmp_path: Path) -> None:
    for rel in (
        "Show/Season 01/e1.mkv",
        "Show/Season 01/e2.mkv",
        "Show/Season 02/e1.mkv",
        "Show/Season 09/e1.mkv",
        "Show/.hidden/e1.mkv",
        "Show/Season 03/new.mkv",
        "Other/Season 01/x.mkv",
        "Loose/alone.mkv",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    lib = library(tmp_path)
    found = lib.siblings(tmp_path / "Show" / "Season 03" / "new.mkv")
    names = [p.relative_to(tmp_path).as_posix() for p in found]
    assert names == ["Show/Season 02/e1.mkv", "Show/Season 01/e1.mkv", "Show/Season 01/e2.mkv", "Show/Season 09/e1.mkv"]
    # A show folder right under the library root has no seasons to borrow from: other shows are not siblings.
    assert lib.siblings(tmp_path / "Loose" / "alone.mkv") == []
    # An episode with siblings in its own folder keeps to them.
    assert lib.siblings(tmp_path / "Show" / "Season 01" / "e1.mkv") == [tmp_path / "Show" / "Season 01" / "e2.mkv"]
