"""Which files are episodes, and how episodes named on a command line group into seasons.

One list of extensions for the detector's commands and the daemon's default config.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

VIDEO_EXTENSIONS = (".mkv", ".mp4", ".m4v", ".avi", ".mov", ".ts", ".m2ts", ".webm", ".wmv", ".mpg", ".mpeg")


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file()


def season_groups(paths: Sequence[Path]) -> Iterator[tuple[list[Path], list[Path]]]:
    """(episodes to detect, other episodes of their season) for each season named: a folder is searched for
    video files (each folder found is one season); a file is one episode, its folder's other videos its siblings."""
    for path in paths:
        if path.is_dir():
            by_folder: dict[Path, list[Path]] = {}
            for f in sorted(p for p in path.rglob("*") if is_video(p)):
                by_folder.setdefault(f.parent, []).append(f)
            for group in by_folder.values():
                yield group, []
        else:
            folder = path.parent
            others = sorted(p for p in folder.iterdir() if p != path and is_video(p)) if folder.is_dir() else []
            yield [path], others
