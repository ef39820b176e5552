"""Which files are episodes: under a library folder, a video extension, no hidden or partial-download name."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from daemon.config import LibraryConfig


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime_ns: int


def stat_file(path: Path) -> FileStat | None:
    """Size and mtime of a regular file; None when it is gone or not a regular file."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return FileStat(size=st.st_size, mtime_ns=st.st_mtime_ns)


def season_key(path: Path) -> str:
    """Episodes of a season live in one folder; its path groups them (siblings, per-season summaries)."""
    return str(path.parent)


class LibraryFilter:
    def __init__(self, config: LibraryConfig, roots: Iterable[Path] | None = None) -> None:
        self._extensions = config.extensions
        self._ignore = config.ignore
        self.roots = tuple(Path(r) for r in (config.folders if roots is None else roots))

    def root_of(self, path: Path) -> Path | None:
        for root in self.roots:
            if path == root or path.is_relative_to(root):
                return root
        return None

    def ignored_name(self, name: str) -> bool:
        lower = name.lower()
        return lower.startswith(".") or any(fnmatch.fnmatchcase(lower, p) for p in self._ignore)

    def accepts(self, path: Path) -> bool:
        """An episode path: checked on the name only, so it also answers for files that are gone."""
        root = self.root_of(path)
        if root is None or path == root or path.suffix.lower() not in self._extensions:
            return False
        return not any(self.ignored_name(part) for part in path.relative_to(root).parts)

    def accepts_folder(self, path: Path) -> bool:
        root = self.root_of(path)
        if root is None:
            return False
        return not any(self.ignored_name(part) for part in path.relative_to(root).parts)

    def walk(self, top: Path | None = None) -> Iterator[Path]:
        """Episode files under `top` (default: every root), in sorted order; symlinked folders not followed."""
        tops = self.roots if top is None else (top,)
        for start in tops:
            if start.is_file():
                if self.accepts(start):
                    yield start
                continue
            for folder, dirs, files in os.walk(start, onerror=None):
                dirs[:] = sorted(d for d in dirs if not self.ignored_name(d))
                for name in sorted(files):
                    path = Path(folder) / name
                    if self.accepts(path) and path.is_file():
                        yield path

    def siblings(self, path: Path) -> list[Path]:
        """The other episodes in `path`'s folder: the season context the detector compares against. A lone
        episode (a new season's first) falls back to the show's other seasons, the nearest folders first, up to
        FALLBACK_SIBLINGS: shows mostly keep their intro from season to season."""
        here = self._episodes_in(path.parent, path)
        if here:
            return here
        show = path.parent.parent
        root = self.root_of(path)
        if root is None or show == root or not show.is_relative_to(root):
            return []  # only root/Show/Season/episode has a show whose other folders are its seasons
        try:
            seasons = sorted(d for d in show.iterdir() if d.is_dir() and d != path.parent and self.accepts_folder(d))
        except OSError:
            return []
        nearest = sorted(seasons, key=lambda d: _name_distance(d.name, path.parent.name))
        found: list[Path] = []
        for season in nearest:
            found += self._episodes_in(season, path)
            if len(found) >= FALLBACK_SIBLINGS:
                break
        return found[:FALLBACK_SIBLINGS]

    def _episodes_in(self, folder: Path, exclude: Path) -> list[Path]:
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return []
        return [p for p in entries if p != exclude and self.accepts(p) and p.is_file()]


FALLBACK_SIBLINGS = 8  # from other seasons: enough for support, few enough to stay cheap


def _name_distance(a: str, b: str) -> tuple[int, str]:
    """Season folders by how far their numbers are apart ("Season 02" is nearer "Season 03" than "Season 09")."""
    digits_a, digits_b = "".join(c for c in a if c.isdigit()), "".join(c for c in b if c.isdigit())
    if digits_a and digits_b:
        return abs(int(digits_a) - int(digits_b)), a
    return 1 << 30, a
