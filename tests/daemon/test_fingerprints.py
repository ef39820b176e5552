from pathlib import Path

import numpy as np
from sqlalchemy import select

from daemon.fingerprints import DatabaseStore
from db import episodes
from db.migrate import upgrade
from db.models import Fingerprint
from db.session import make_engine, make_sessions
from detector.fingerprint import Fingerprints


def fp(seed: int) -> Fingerprints:
    rng = np.random.default_rng(seed)
    return Fingerprints(rng.integers(0, 2**32, 100, dtype=np.uint32), rng.integers(0, 2**63, 30, dtype=np.uint64))


def same(a: Fingerprints | None, b: Fingerprints) -> bool:
    return a is not None and np.array_equal(a.audio, b.audio) and np.array_equal(a.picture, b.picture)


def test_fingerprints_are_kept_per_episode_and_file_version(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/f.db")
    upgrade(engine)
    sessions = make_sessions(engine)
    season = tmp_path / "S1"
    season.mkdir()
    known, unknown = season / "e1.mkv", season / "e2.mkv"
    known.write_bytes(b"one")
    unknown.write_bytes(b"two")
    st = known.stat()
    with sessions.begin() as s:
        episodes.note_seen(s, episodes.Seen(str(known), str(season), st.st_size, st.st_mtime_ns))
    store = DatabaseStore(sessions)
    assert store.get(known) is None
    store.put(known, fp(1))
    store.put(unknown, fp(2))  # not in the database yet: kept in memory
    assert same(DatabaseStore(sessions).get(known), fp(1))  # a new process finds it
    assert same(store.get(unknown), fp(2)) and DatabaseStore(sessions).get(unknown) is None

    with sessions.begin() as s:  # moved: the fingerprint follows its episode
        episodes.rename(s, str(known), str(season / "moved.mkv"), str(season))
    known.rename(season / "moved.mkv")
    assert same(store.get(season / "moved.mkv"), fp(1))

    (season / "moved.mkv").write_bytes(b"changed")  # another file now: computed again
    assert store.get(season / "moved.mkv") is None
    store.put(season / "moved.mkv", fp(3))
    with sessions() as s:
        assert len(s.scalars(select(Fingerprint)).all()) == 1
    assert same(store.get(season / "moved.mkv"), fp(3))
    engine.dispose()
