"""Transactions that wait out a database that is busy or full, and give up on one that is damaged or gone.

Another process may hold SQLite's write lock for longer than the busy timeout (a backup tool, a long `rescan`), and
the state folder's disk may fill up. Neither is a reason to lose work: a unit of work is a function of a session,
run again until it commits, so a finished detection waits in memory until it can be stored. Waiting ends when the
caller stops (`stopping`), and one warning per outage says what is wrong and what to do.

A database file that was deleted or overwritten cannot come back by waiting. SQLite itself does not notice: a
connection keeps writing into the deleted file's inode, and pages it holds in memory hide a damaged file. So each
write first checks that the file at the path is still the one opened and still an SQLite database, and if not
raises `DatabaseLost` (after calling `on_lost` once), with a message that says what to do.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")

SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
RETRY_WAIT_S = 5.0  # between tries when the disk is full; a busy database already waited its busy timeout


class Fault(StrEnum):
    BUSY = "busy"
    FULL = "full"
    IO = "io"
    DAMAGED = "damaged"
    GONE = "gone"


WAITABLE = frozenset({Fault.BUSY, Fault.FULL, Fault.IO})


class DatabaseLost(Exception):
    """The database file is damaged or gone: nothing more can be stored until the daemon is started again."""


class DatabaseStopped(Exception):
    """The caller is stopping while the database was busy or full: the unit of work was not done."""


@dataclass(frozen=True)
class FileIdentity:
    device: int
    inode: int


def classify(error: BaseException) -> Fault | None:
    """What a database error means for the one who waits on it; None: not a fault of the database (a bug)."""
    orig = error.orig if isinstance(error, DBAPIError) else error
    name = getattr(orig, "sqlite_errorname", "") or ""
    text = str(orig).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return Fault.BUSY
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return Fault.FULL
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
        return Fault.DAMAGED
    if name.startswith("SQLITE_READONLY_DBMOVED"):
        return Fault.GONE
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) or "disk i/o error" in text:
        return Fault.IO
    return None


def identity(path: Path) -> FileIdentity | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return FileIdentity(st.st_dev, st.st_ino)


def check_file(path: Path, fd: int) -> Fault | None:
    """GONE when the file at `path` is not the one open as `fd` (deleted, or replaced), DAMAGED when it is no longer
    an SQLite database; None when all is well.

    Read through a descriptor kept open, never opened and closed here: closing any descriptor of a file drops every
    POSIX lock the process holds on it, SQLite's included."""
    st = os.fstat(fd)
    if identity(path) != FileIdentity(st.st_dev, st.st_ino):
        return Fault.GONE
    try:
        header = os.pread(fd, len(SQLITE_HEADER), 0)
    except OSError:
        return None  # unreadable for a moment (I/O error): the write itself will say
    return None if header == SQLITE_HEADER else Fault.DAMAGED


def explain(fault: Fault, path: Path | None, detail: str = "") -> str:
    where = f"database {path}" if path else "the database"
    return {
        Fault.BUSY: f"{where} is locked by another process (a backup, a long `rescan`?); waiting for it",
        Fault.FULL: f"the disk holding {where} is full; free some space there (nothing is lost meanwhile, waiting)",
        Fault.IO: f"{where}: I/O error ({detail}); waiting and trying again",
        Fault.GONE: f"{where} was deleted or replaced while the daemon ran; it stops. Start it again (systemd "
        "restarts it) to begin a new database: every episode is then detected anew",
        Fault.DAMAGED: f"{where} is damaged ({detail or 'not an SQLite database any more'}); the daemon stops. "
        "Restore it from a backup, or move it away (every episode is then detected anew), and start again",
    }[fault]


class Database:
    """The daemon's sessions, with units of work that wait out a busy or full database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        path: Path | None = None,
        *,
        stopping: threading.Event | None = None,
        on_lost: Callable[[str], None] | None = None,
        retry_wait_s: float = RETRY_WAIT_S,
    ) -> None:
        """`path`: the SQLite file, watched for deletion and damage once `watch_file` is called. `on_lost(message)`
        is called once when it is lost (the daemon stops itself)."""
        self.sessions = sessions
        self.path = path
        self.stopping = stopping or threading.Event()
        self.on_lost = on_lost
        self._retry_wait_s = retry_wait_s
        self._fd: int | None = None  # the file, open for as long as the process runs (see check_file)
        self._lock = threading.Lock()
        self._outage: tuple[Fault, float] | None = None  # what is wrong since when, said once
        self.lost: str | None = None  # the message, once lost

    def watch_file(self) -> None:
        """From now on (the file exists and is ours), each write checks it is still there and still a database."""
        if self.path is not None and self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    def write(self, unit: Callable[[Session], T]) -> T:
        """Run `unit` in a write transaction until it commits (see the module's docstring)."""

        def attempt() -> T:
            with self.sessions.begin() as session:
                return unit(session)

        return self.retry(attempt, checked=True)

    def read(self, unit: Callable[[Session], T]) -> T:
        def attempt() -> T:
            with self.sessions() as session:
                return unit(session)

        return self.retry(attempt)

    def retry(self, attempt: Callable[[], T], *, checked: bool = False) -> T:
        """`attempt()` until it raises no busy/full/I/O error; for work on the same database without a session of
        ours (the job store). `checked`: check the file first (writes)."""
        while True:
            if self.lost is not None:
                raise DatabaseLost(self.lost)
            if checked and self.path is not None and self._fd is not None:
                fault = check_file(self.path, self._fd)
                if fault is not None:
                    self._lose(fault, "")
            try:
                result = attempt()
            except DBAPIError as error:
                fault = classify(error)
                if fault is None:
                    raise
                if fault not in WAITABLE:
                    self._lose(fault, str(error.orig))
                self._wait(fault, str(error.orig))
                continue
            self._recovered()
            return result

    def _wait(self, fault: Fault, detail: str) -> None:
        with self._lock:
            if self._outage is None or self._outage[0] != fault:
                self._outage = (fault, time.monotonic())
                log.warning("%s", explain(fault, self.path, detail))
        if self.stopping.is_set():
            raise DatabaseStopped(explain(fault, self.path, detail))
        if fault != Fault.BUSY and self.stopping.wait(self._retry_wait_s):
            raise DatabaseStopped(explain(fault, self.path, detail))

    def _recovered(self) -> None:
        if self._outage is None:
            return
        with self._lock:
            if self._outage is not None:
                log.warning(
                    "%s usable again after %.0f s", self.path or "the database", time.monotonic() - self._outage[1]
                )
                self._outage = None

    def _lose(self, fault: Fault, detail: str) -> None:
        message = explain(fault, self.path, detail)
        first = False
        with self._lock:
            if self.lost is None:
                self.lost, first = message, True
        if first:
            if fault == Fault.GONE and self.path is not None:
                _forget_journal(self.path)
            log.error("%s", message)
            if self.on_lost is not None:
                self.on_lost(message)
        raise DatabaseLost(message)


def _forget_journal(path: Path) -> None:
    """Unlink the write-ahead log and shared memory of a database file that was deleted or replaced. They belong to
    the file this process still has open (its connections keep them), not to whatever is at the path now: left
    there, the next start would replay them into a new or restored database, which SQLite then reports as a disk
    I/O error."""
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
