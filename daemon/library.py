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
        """The other episodes in `path`'s folder: the season context the detector compares against."""
        try:
            entries = sorted(path.parent.iterdir())
        except OSError:
            return []
        return [p for p in entries if p != path and self.accepts(p) and p.is_file()]
