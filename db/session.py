"""Engines and sessions. SQLite gets WAL, a busy timeout, foreign keys, and write-locking transactions.

Several processes share the database (the service, a `rescan`, `status`), and APScheduler's job store shares the
engine. Every transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front, waiting up to the busy
timeout, instead of failing with SQLITE_BUSY when a read transaction later tries to write (WAL does not retry
those). Transactions are kept short (no session is held open across a detection), so waiting is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 30_000
WRITER_PRAGMAS = ["journal_mode=WAL", "synchronous=NORMAL"]  # NORMAL is crash-safe with WAL


def make_engine(url: str, *, read_only: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """An engine for `url`, creating the SQLite file's folder if needed. `read_only` (status, show): plain
    deferred transactions, which also work for a user who may read the database but not write it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url)
    if not read_only and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
    pragmas = [f"busy_timeout={busy_timeout_ms}", *(["query_only=ON"] if read_only else WRITER_PRAGMAS)]
    event.listen(engine, "connect", lambda dbapi_connection, _record: _pragmas(dbapi_connection, pragmas))
    event.listen(engine, "begin", _begin_deferred if read_only else _begin_immediate)
    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _pragmas(dbapi_connection: Any, pragmas: list[str]) -> None:
    # The driver's own implicit transactions are turned off; the "begin" listener starts ours (SQLAlchemy's
    # recipe for SQLite), so DDL is transactional too.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("foreign_keys=ON", *pragmas):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: rows read in a short session stay usable after it closes.
    return sessionmaker(engine, expire_on_commit=False)
