"""Episode state changes: files seen, claims, results, moves, missing files, stale claims."""

import threading
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db import episodes
from db.episodes import Seen
from db.models import DetectionRecord, Episode, EpisodeState, Push, PushState
from db.session import make_engine, make_sessions

OWNER = "host:1"


def seen(path: str = "/tv/S1/e1.mkv", size: int = 100, mtime_ns: int = 1) -> Seen:
    return Seen(path, str(Path(path).parent), size, mtime_ns)


def record(
    size: int = 100, mtime_ns: int = 1, model: str = "m1", start_s: float | None = 10.0, signals: str = "network"
) -> DetectionRecord:
    return DetectionRecord(
        file_size=size,
        file_mtime_ns=mtime_ns,
        model_version=model,
        start_s=start_s,
        end_s=None if start_s is None else start_s + 50,
        confidence=None if start_s is None else 0.9,
        duration_s=1300.0,
        signals=signals,
        scores=b"",
        elapsed_s=1.0,
    )


def test_new_changed_unchanged_and_returning_files(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        episode = episodes.note_seen(s, seen())
        assert (episode.state, episode.season_key) == (EpisodeState.PENDING, "/tv/S1")
        episode.state = EpisodeState.FAILED
        episode.attempts, episode.last_error = 3, "boom"
    with sessions.begin() as s:
        assert episodes.note_seen(s, seen()).state == EpisodeState.FAILED  # unchanged: stays
    with sessions.begin() as s:
        episode = episodes.note_seen(s, seen(size=200))
        assert (episode.state, episode.attempts, episode.last_error, episode.size) == ("pending", 0, None, 200)


def claimed(sessions: sessionmaker[Session], path: str = "/tv/S1/e1.mkv", size: int = 100) -> int:
    with sessions.begin() as s:
        episode = episodes.note_seen(s, seen(path, size))
        assert episodes.claim(s, episode.id, OWNER, {EpisodeState.PENDING})
        return episode.id


def test_claim_is_exclusive(sessions: sessionmaker[Session]) -> None:
    episode_id = claimed(sessions)
    with sessions.begin() as s:
        assert not episodes.claim(s, episode_id, "host:2", {EpisodeState.PENDING})
        episode = s.get_one(Episode, episode_id)
        assert (episode.state, episode.claimed_by) == (EpisodeState.PROCESSING, OWNER)


def test_claims_race_between_engines_has_one_winner(tmp_path: Path, engine: Engine) -> None:
    with make_sessions(engine).begin() as s:
        ids = [episodes.note_seen(s, seen(f"/tv/S1/e{i}.mkv")).id for i in range(20)]
    engines = [make_engine(str(engine.url)) for _ in range(4)]
    wins: list[tuple[int, int]] = []
    barrier = threading.Barrier(len(engines))

    def contend(n: int) -> None:
        sessions = make_sessions(engines[n])
        barrier.wait()
        for episode_id in ids:
            with sessions.begin() as s:
                if episodes.claim(s, episode_id, f"host:{n}", {EpisodeState.PENDING}):
                    wins.append((episode_id, n))

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert sorted(i for i, _ in wins) == ids


def test_store_detection_replaces_the_same_key_and_queues_pushes(sessions: sessionmaker[Session]) -> None:
    episode_id = claimed(sessions)
    with sessions.begin() as s:
        assert episodes.store_detection(s, episode_id, OWNER, record(), ["home", "kodi"]) is not None
    with sessions.begin() as s:
        push = s.scalars(select(Push).where(Push.target == "home")).one()
        push.state, push.attempts, push.detection_id = PushState.DONE, 2, episodes.latest_detection(s, episode_id).id  # type: ignore[union-attr]
    with sessions.begin() as s:  # --force: same file, same model
        assert episodes.claim(s, episode_id, OWNER, {EpisodeState.DONE})
        assert episodes.store_detection(s, episode_id, OWNER, record(start_s=None), ["home", "kodi"]) is not None
    with sessions.begin() as s:
        episode = s.get_one(Episode, episode_id)
        (detection,) = s.scalars(select(DetectionRecord)).all()
        assert detection.start_s is None and episode.state == EpisodeState.DONE and episode.claimed_by is None
        assert episodes.is_up_to_date(s, episode, "m1") and not episodes.is_up_to_date(s, episode, "m2")
        pushes = {p.target: p for p in s.scalars(select(Push))}
        assert sorted(pushes) == ["home", "kodi"]
        assert all(p.state == PushState.PENDING and p.attempts == 0 for p in pushes.values())
        assert pushes["home"].detection_id is None  # the pushed detection was replaced: set null


def test_a_lost_claim_stores_nothing(sessions: sessionmaker[Session]) -> None:
    episode_id = claimed(sessions)
    with sessions.begin() as s:
        episodes.mark_missing(s, "/tv/S1/e1.mkv")
    with sessions.begin() as s:
        assert episodes.store_detection(s, episode_id, OWNER, record(), []) is None
        assert episodes.finish(s, episode_id, OWNER, EpisodeState.FAILED) is None
        assert s.scalars(select(DetectionRecord)).all() == []
        assert s.get_one(Episode, episode_id).state == EpisodeState.MISSING


def test_finish_counts_attempts(sessions: sessionmaker[Session]) -> None:
    episode_id = claimed(sessions)
    with sessions.begin() as s:
        episode = episodes.finish(s, episode_id, OWNER, EpisodeState.FAILED, error="unusable media: no audio")
        assert episode is not None and episode.processed_at is not None
    with sessions.begin() as s:
        episode = s.get_one(Episode, episode_id)
        assert (episode.state, episode.attempts, episode.last_error) == ("failed", 1, "unusable media: no audio")


def test_stale_claims_go_back_to_pending(sessions: sessionmaker[Session]) -> None:
    claimed(sessions, "/tv/S1/e1.mkv")
    with sessions.begin() as s:
        other = episodes.note_seen(s, seen("/tv/S1/e2.mkv"))
        episodes.claim(s, other.id, "host:2", {EpisodeState.PENDING})
    with sessions.begin() as s:
        assert episodes.release_stale_claims(s, lambda owner: owner == OWNER) == ["/tv/S1/e1.mkv"]
    with sessions.begin() as s:
        assert episodes.pending_paths(s) == ["/tv/S1/e1.mkv"]


def test_moves_keep_results_and_missing_files_come_back(sessions: sessionmaker[Session]) -> None:
    episode_id = claimed(sessions)
    with sessions.begin() as s:
        episodes.store_detection(s, episode_id, OWNER, record(), [])
        episodes.note_seen(s, seen("/tv/S1/e2.mkv"))
    with sessions.begin() as s:
        episodes.rename(s, "/tv/S1/e1.mkv", "/tv/S2/one.mkv", "/tv/S2")
    with sessions.begin() as s:
        assert [(old, new) for old, new in episodes.rename_folder(s, "/tv/S2", "/tv/Season 2")] == [
            ("/tv/S2/one.mkv", "/tv/Season 2/one.mkv")
        ]
    with sessions.begin() as s:
        episode = s.get_one(Episode, episode_id)
        assert (episode.path, episode.season_key, len(episode.detections)) == (
            "/tv/Season 2/one.mkv",
            "/tv/Season 2",
            1,
        )
        assert episodes.mark_missing_under(s, "/tv/Season 2") == ["/tv/Season 2/one.mkv"]
        assert episodes.get(s, "/tv/S1/e2.mkv").state == EpisodeState.PENDING  # type: ignore[union-attr]
    with sessions.begin() as s:  # back, unchanged: its result still holds
        assert episodes.note_seen(s, seen("/tv/Season 2/one.mkv")).state == EpisodeState.DONE
    with sessions.begin() as s:  # back, changed: detect again
        episodes.mark_missing(s, "/tv/Season 2/one.mkv")
    with sessions.begin() as s:
        assert episodes.note_seen(s, seen("/tv/Season 2/one.mkv", size=5)).state == EpisodeState.PENDING


def test_folder_prefixes_are_literal(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        episodes.note_seen(s, seen("/tv/100%_done/e.mkv"))
        episodes.note_seen(s, seen("/tv/100x_done/e.mkv"))
        episodes.note_seen(s, seen("/tv/100%_done2/e.mkv"))
    with sessions.begin() as s:
        assert episodes.mark_missing_under(s, "/tv/100%_done") == ["/tv/100%_done/e.mkv"]


def test_state_and_times_are_checked_and_aware(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        episode = episodes.note_seen(s, seen())
    assert episode.created_at.tzinfo is UTC
    with pytest.raises(IntegrityError, match=r"CHECK constraint failed"), sessions.begin() as s:
        s.execute(text("UPDATE episodes SET state = 'bogus'"))


def test_adopting_a_rewrite_keeps_the_result_current(sessions: sessionmaker[Session]) -> None:
    episode_id = claimed(sessions)
    with sessions.begin() as s:
        episodes.store_detection(s, episode_id, OWNER, record(), [])
    with sessions.begin() as s:
        assert episodes.adopt_rewrite(s, "/tv/S1/e1.mkv", 150, 9)
        assert not episodes.adopt_rewrite(s, "/tv/S1/other.mkv", 1, 1)
    with sessions.begin() as s:
        episode = episodes.note_seen(s, seen(size=150, mtime_ns=9))
        assert episode.state == EpisodeState.DONE and episodes.is_up_to_date(s, episode, "m1")


@pytest.mark.parametrize(
    ("signals", "current_after_adapt"),
    [
        ("network,repetition,edges", True),
        ("network,repetition,sound", True),
        ("network", False),
        ("network,copies,sibling-unmatched", False),
    ],
)
def test_another_lone_model_redoes_only_the_episodes_it_decided(
    sessions: sessionmaker[Session], signals: str, current_after_adapt: bool
) -> None:
    shipped, adapted = "season-1+seed-1/post20", "season-1+adapt-20261207-120000/post20"
    episode_id = claimed(sessions)
    with sessions.begin() as s:
        episodes.store_detection(s, episode_id, OWNER, record(model=shipped, signals=signals), [])
    with sessions.begin() as s:
        episode = s.get_one(Episode, episode_id)
        assert episodes.is_up_to_date(s, episode, shipped)
        assert episodes.is_up_to_date(s, episode, adapted) == current_after_adapt
        # Another season model or post-processing redoes every episode.
        assert not episodes.is_up_to_date(s, episode, "season-2+seed-1/post20")
        assert not episodes.is_up_to_date(s, episode, "season-1+seed-1/post21")
