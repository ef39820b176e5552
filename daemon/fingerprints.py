"""The detector's fingerprint store, kept in the daemon's database (`detector.season.FingerprintStore`), and its
store of analyses waiting to be decided again (`detector.season.AnalysisStore`).

A new episode of a season is compared with its siblings; their fingerprints come from here instead of decoding
them again. Rows belong to episodes, so they follow a moved file and go when its episode is deleted; a file that
changed (size or mtime) is fingerprinted anew. Siblings the database does not know yet (still settling) are kept
in memory only, and so are fingerprints the database cannot take (busy, full): it is a cache, and a detection
should not wait or fail for it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from daemon.library.filter import FileStat, stat_file
from db import episodes
from db.models import Fingerprint, StoredAnalysis, utcnow
from detector.fingerprint import Fingerprints

log = logging.getLogger(__name__)

_Row = TypeVar("_Row", Fingerprint, StoredAnalysis)  # the two tables of per-file bytes, alike in shape

MEMORY_LIMIT = 256  # fingerprints of unknown files kept in memory (about 60 KB each)


class DatabaseStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._memory: dict[tuple[str, int, int], Fingerprints] = {}

    def get(self, path: Path) -> Fingerprints | None:
        stat = stat_file(path)
        if stat is None:
            return None
        with self._lock:
            cached = self._memory.get((str(path), stat.size, stat.mtime_ns))
        if cached is not None:
            return cached
        data = self._read(Fingerprint, path, stat)
        if data is None:
            return None
        try:
            return Fingerprints.from_bytes(data)
        except ValueError:  # written by another fingerprint format: compute again
            return None

    def put(self, path: Path, fingerprints: Fingerprints) -> None:
        stat = stat_file(path)
        if stat is None or self._write(Fingerprint, path, stat, fingerprints.to_bytes()):
            return
        with self._lock:
            if len(self._memory) >= MEMORY_LIMIT:
                self._memory.pop(next(iter(self._memory)))
            self._memory[(str(path), stat.size, stat.mtime_ns)] = fingerprints

    def get_analysis(self, path: Path) -> bytes | None:
        stat = stat_file(path)
        return None if stat is None else self._read(StoredAnalysis, path, stat)

    def put_analysis(self, path: Path, data: bytes) -> None:
        """Kept only for an episode the database knows (a cache: otherwise the episode is simply not revisited)."""
        stat = stat_file(path)
        if stat is not None:
            self._write(StoredAnalysis, path, stat, data)

    def drop_analysis(self, path: Path) -> None:
        try:
            with self._sessions.begin() as session:
                episode = episodes.get(session, str(path))
                if episode is not None:
                    session.execute(delete(StoredAnalysis).where(StoredAnalysis.episode_id == episode.id))
        except DBAPIError as e:
            log.debug("analysis of %s not dropped (%s)", path, e.orig)

    def _read(self, table: type[_Row], path: Path, stat: FileStat) -> bytes | None:
        """The row's bytes when it was written for the file as it is now."""
        try:
            with self._sessions() as session:
                episode = episodes.get(session, str(path))
                row = session.get(table, episode.id) if episode is not None else None
                if row is None or (row.file_size, row.file_mtime_ns) != (stat.size, stat.mtime_ns):
                    return None
                return row.data
        except DBAPIError as e:
            log.debug("%s of %s not read (%s)", table.__tablename__, path, e.orig)
            return None

    def _write(self, table: type[_Row], path: Path, stat: FileStat, data: bytes) -> bool:
        """False when not written: an episode the database does not know yet, or a database that cannot take it."""
        try:
            with self._sessions.begin() as session:
                episode = episodes.get(session, str(path))
                if episode is None:
                    return False
                row = session.get(table, episode.id) or table(episode_id=episode.id)
                if (row.file_size, row.file_mtime_ns) != (stat.size, stat.mtime_ns):
                    row.created_at = utcnow()  # another file's: a sibling decided before it did not see it
                row.file_size, row.file_mtime_ns, row.data = stat.size, stat.mtime_ns, data
                session.add(row)
                return True
        except DBAPIError as e:
            log.debug("%s of %s not written (%s)", table.__tablename__, path, e.orig)
            return False
