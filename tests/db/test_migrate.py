"""Schema versions: the migrations build what the models say, and an old database upgrades keeping its rows."""

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from db.migrate import current_revision, head_revision, upgrade
from db.models import Base, Episode
from db.session import make_engine, make_sessions


def test_migrations_match_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []


def test_upgrade_from_the_first_revision_keeps_every_row(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine, "0001")
    assert not inspect(engine).has_table("pushes")
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO episodes (id, path, season_key, size, mtime_ns, state, attempts, created_at, updated_at)"
                " VALUES (1, '/tv/S1/e1.mkv', '/tv/S1', 5, 7, 'done', 0, '2026-01-01', '2026-01-01')"
            )
        )
        c.execute(
            text(
                "INSERT INTO detections (episode_id, file_size, file_mtime_ns, model_version, start_s, end_s,"
                " confidence, duration_s, signals, scores, elapsed_s, created_at)"
                " VALUES (1, 5, 7, 'm0', 1.0, 51.0, 0.8, 1300, 'network', x'003c', 2.0, '2026-01-01')"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with make_sessions(engine)() as session:
        episode = session.scalars(select(Episode)).one()
        assert (episode.path, episode.state, episode.size) == ("/tv/S1/e1.mkv", "done", 5)
        assert episode.created_at == datetime(2026, 1, 1, tzinfo=UTC)
        (detection,) = episode.detections
        assert (detection.start_s, detection.end_s, detection.scores) == (1.0, 51.0, b"\x00\x3c")
        assert episode.pushes == []
        assert detection.others == []  # 0006: no other segment yet, the detection kept
    upgrade(engine)  # a second start: nothing to do
    engine.dispose()
