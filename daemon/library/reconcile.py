"""Compare the library on disk with the database: what inotify missed while the daemon was down, or on shares.

The scan only decides; callers act (the service settles new files before queueing them, `rescan` takes them as
they are). A file that vanished while another with the same size and mtime appeared is taken as moved, so it
keeps its results, as a live rename would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from daemon.library.filter import FileStat, LibraryFilter, season_key, stat_file
from db import episodes
from db.models import Episode, EpisodeState


@dataclass
class Changes:
    new_or_changed: list[Path] = field(default_factory=list)  # not in the database, or size/mtime differ
    moved: list[tuple[Path, Path]] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    pending: list[Path] = field(default_factory=list)  # known, unchanged, still waiting for a detection


def scan_disk(library: LibraryFilter, tops: Iterable[Path] | None = None) -> dict[Path, FileStat]:
    found: dict[Path, FileStat] = {}
    for top in tops if tops is not None else library.roots:
        for path in library.walk(top):
            stat = stat_file(path)
            if stat is not None:
                found[path] = stat
    return found


def compare(session: Session, library: LibraryFilter, on_disk: dict[Path, FileStat], tops: Iterable[Path]) -> Changes:
    changes = Changes()
    known: dict[Path, Episode] = {}
    for top in tops:
        for row in episodes.episodes_at_or_under(session, str(top)):
            known[Path(row.path)] = row
    gone = {
        p: e for p, e in known.items() if p not in on_disk and e.state != EpisodeState.MISSING and library.accepts(p)
    }
    gone_by_stat: dict[tuple[int, int], list[Path]] = {}
    for p, e in gone.items():
        gone_by_stat.setdefault((e.size, e.mtime_ns), []).append(p)
    for path, stat in sorted(on_disk.items()):
        episode = known.get(path)
        if episode is None:
            candidates = gone_by_stat.get((stat.size, stat.mtime_ns), [])
            if len(candidates) == 1:  # unambiguous: the same file under a new name
                src = candidates.pop()
                del gone[src]
                changes.moved.append((src, path))
            else:
                changes.new_or_changed.append(path)
        elif (episode.size, episode.mtime_ns) != (stat.size, stat.mtime_ns) or episode.state == EpisodeState.MISSING:
            changes.new_or_changed.append(path)
        elif episode.state == EpisodeState.PENDING:
            changes.pending.append(path)
    changes.missing = sorted(gone)
    return changes


def apply_moves_and_missing(session: Session, changes: Changes) -> None:
    for src, dest in changes.moved:
        episodes.rename(session, str(src), str(dest), season_key(dest))
    for path in changes.missing:
        episodes.mark_missing(session, str(path))
