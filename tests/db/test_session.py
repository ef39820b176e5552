"""SQLite as the daemon opens it: WAL, a busy timeout, foreign keys."""

from sqlalchemy import Engine


def test_sqlite_is_wal_with_busy_timeout_and_foreign_keys(engine: Engine) -> None:
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
