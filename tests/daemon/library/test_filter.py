"""Which files are episodes, walking the library, and the season context (siblings) of an episode."""

from pathlib import Path

import pytest

from daemon.config import LibraryConfig
from daemon.library.filter import LibraryFilter


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
