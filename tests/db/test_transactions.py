"""Transactions against real SQLite files made busy, full, deleted and damaged."""

import logging
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db.session import make_engine, make_sessions
from db.transactions import Database, DatabaseLost, DatabaseStopped, Fault, classify


def make_db(path: Path, **kwargs: object) -> Database:
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=100)
    db = Database(make_sessions(engine), path, retry_wait_s=0.05, **kwargs)  # type: ignore[arg-type]
    db.write(lambda s: s.execute(text("CREATE TABLE t (x BLOB)")))
    db.watch_file()
    return db


def insert(session: Session, value: object = 1) -> int:
    session.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
    return int(session.execute(text("SELECT COUNT(*) FROM t")).scalar_one())


def hold_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Another connection (as another process would) holding the write lock for `seconds`."""
    locked = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        other.execute("ROLLBACK")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait()
    return thread


def test_classify_tells_real_sqlite_errors_apart(tmp_path: Path) -> None:
    db = make_db(tmp_path / "a.db")
    holder = hold_write_lock(tmp_path / "a.db", 0.5)
    with pytest.raises(DBAPIError) as busy, db.sessions.begin() as session:
        insert(session)
    holder.join()
    assert classify(busy.value) == Fault.BUSY
    with pytest.raises(DBAPIError) as full, db.sessions.begin() as session:
        session.execute(text("PRAGMA max_page_count = 2"))
        insert(session, b"x" * 100_000)
    assert classify(full.value) == Fault.FULL
    (tmp_path / "b.db").write_bytes(b"<html>not a database</html>" * 200)
    with pytest.raises(DBAPIError) as damaged:
        make_engine(f"sqlite:///{tmp_path / 'b.db'}").connect().execute(text("SELECT * FROM t"))
    assert classify(damaged.value) == Fault.DAMAGED
    assert classify(ValueError("a bug")) is None


def test_a_write_waits_out_a_lock_held_longer_than_the_busy_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = make_db(tmp_path / "a.db")
    holder = hold_write_lock(tmp_path / "a.db", 0.6)  # six busy timeouts
    with caplog.at_level(logging.WARNING, "db.transactions"):
        assert db.write(insert) == 1
    holder.join()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said  # one warning for the whole outage, one when it is over
    assert "is locked by another process" in said[0] and "usable again" in said[1]


def test_a_write_waits_while_the_disk_is_full_and_stores_once_there_is_room(tmp_path: Path) -> None:
    db = make_db(tmp_path / "a.db")
    room = threading.Event()
    tries = []

    def store(session: Session) -> int:
        tries.append(time.monotonic())
        if not room.is_set():
            session.execute(text("PRAGMA max_page_count = 2"))  # SQLite's own "database or disk is full"
        else:
            session.execute(text("PRAGMA max_page_count = 1000000"))
        return insert(session, b"x" * 100_000)

    threading.Timer(0.3, room.set).start()
    assert db.write(store) == 1
    assert len(tries) >= 3  # tried again every retry_wait_s until there was room


def test_stopping_ends_the_wait(tmp_path: Path) -> None:
    db = make_db(tmp_path / "a.db")

    def store(session: Session) -> int:
        session.execute(text("PRAGMA max_page_count = 2"))
        return insert(session, b"x" * 100_000)

    threading.Timer(0.2, db.stopping.set).start()
    with pytest.raises(DatabaseStopped, match=r"disk holding database .* is full"):
        db.write(store)


@pytest.mark.parametrize(
    ("harm", "said"),
    [
        (lambda p: p.unlink(), "was deleted or replaced"),
        (lambda p: shutil.copy(p, p.with_name("copy.db")) and p.with_name("copy.db").replace(p), "replaced"),
        (lambda p: p.write_bytes(b"\0" * 4096), "is damaged"),
    ],
    ids=["deleted", "replaced", "overwritten"],
)
def test_a_deleted_replaced_or_damaged_file_is_lost_once_and_said_so(tmp_path: Path, harm: object, said: str) -> None:
    told = []
    db = make_db(tmp_path / "a.db", on_lost=told.append)
    assert db.write(insert) == 1
    harm(tmp_path / "a.db")  # type: ignore[operator]
    for _ in range(2):
        with pytest.raises(DatabaseLost, match=said):
            db.write(insert)
    assert len(told) == 1 and said in told[0]
    if said != "is damaged":  # what is at the path now is not replayed with the lost file's journal
        assert not (tmp_path / "a.db-wal").exists() and not (tmp_path / "a.db-shm").exists()
    assert "start" in told[0]  # says what to do
