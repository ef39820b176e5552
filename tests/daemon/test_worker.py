import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from daemon.config import LibraryConfig
from daemon.library.filter import LibraryFilter
from daemon.retry import RetryPolicy
from daemon.worker import RESCAN_STATES, Outcome, Worker
from db import episodes
from db.models import DetectionRecord, Episode, EpisodeState, Push
from db.scores import decode_scores
from db.transactions import Database
from tests.conftest import FakeDetector


@pytest.fixture
def season(tmp_path: Path) -> Path:
    folder = tmp_path / "lib" / "Show" / "S01"
    folder.mkdir(parents=True)
    for name in ("e1.mkv", "e2.mkv", "e3.mp4"):
        (folder / name).write_bytes(b"video " + name.encode())
    (folder / "e4.mkv.part").write_bytes(b"partial")
    return folder


def make_worker(
    sessions: sessionmaker[Session], fake: FakeDetector, season: Path, owner: str = "host:1", attempts: int = 2
) -> Worker:
    library = LibraryFilter(LibraryConfig(folders=(season.parent.parent,)))
    return Worker(
        Database(sessions),
        fake.detect,
        fake.model_version,
        library,
        owner=owner,
        targets=["home"],
        retry=RetryPolicy(max_attempts=attempts, backoff_s=10),
    )


def state_of(sessions: sessionmaker[Session], path: Path) -> Episode:
    with sessions() as s:
        episode = episodes.get(s, str(path))
        assert episode is not None
        return episode


def test_done_with_the_season_as_context(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    worker = make_worker(sessions, fake_detector, season)
    result = worker.process(season / "e2.mkv")
    assert (result.outcome, result.detail) == (Outcome.DONE, "intro 10.0-40.0 s (confidence 0.90)")
    (call,) = fake_detector.calls
    assert call[:2] == (season / "e2.mkv", (season / "e1.mkv", season / "e3.mp4"))
    episode = state_of(sessions, season / "e2.mkv")
    assert (episode.state, episode.duration_s, episode.season_key) == ("done", 120.0, str(season))
    with sessions() as s:
        detection = s.scalars(select(DetectionRecord)).one()
        assert (detection.start_s, detection.end_s, detection.confidence, detection.signals) == (
            10.0,
            40.0,
            0.9,
            "network",
        )
        assert detection.model_version == "fake-1" and len(detection.scores) == 120  # float16: 2 bytes a second
        assert decode_scores(detection.scores)[15] == pytest.approx(0.9, abs=1e-3)
        assert [p.target for p in s.scalars(select(Push))] == ["home"]
    assert worker.process(season / "e2.mkv").outcome == Outcome.SKIPPED  # up to date: no work
    assert len(fake_detector.calls) == 1


def test_unusable_media_fails_at_once_with_the_cause(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    (season / "bad.mkv").write_bytes(b"CORRUPT")
    (season / "empty.mkv").write_bytes(b"")
    worker = make_worker(sessions, fake_detector, season)
    assert worker.process(season / "bad.mkv").outcome == Outcome.FAILED
    assert worker.process(season / "empty.mkv").outcome == Outcome.FAILED
    bad, empty = state_of(sessions, season / "bad.mkv"), state_of(sessions, season / "empty.mkv")
    assert (bad.state, bad.last_error, bad.attempts) == ("failed", "unusable media: no video stream", 1)
    assert (empty.state, empty.last_error) == ("failed", "empty file (0 bytes)")
    assert [c[0].name for c in fake_detector.calls] == ["bad.mkv"]  # an empty file never reaches the detector
    assert worker.process(season / "bad.mkv").outcome == Outcome.SKIPPED  # a queued job does not retry failures
    assert worker.process(season / "bad.mkv", RESCAN_STATES).outcome == Outcome.FAILED  # a rescan does


def test_a_file_over_the_memory_ceiling_fails_at_once_and_is_not_retried(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    (season / "huge.mkv").write_bytes(b"HUGE")
    worker = make_worker(sessions, fake_detector, season, attempts=3)
    result = worker.process(season / "huge.mkv")
    assert result.outcome == Outcome.FAILED and result.retry_in_s is None
    huge = state_of(sessions, season / "huge.mkv")
    assert (huge.state, huge.attempts) == ("failed", 1)
    assert huge.last_error == "over the memory ceiling of 600 MB (worker.memory_limit_mb)"
    assert worker.process(season / "huge.mkv").outcome == Outcome.SKIPPED
    assert worker.process(season / "e1.mkv").outcome == Outcome.DONE  # the others go on


def test_an_episode_the_cluster_cannot_take_now_is_given_back_without_an_attempt(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    (season / "away.mkv").write_bytes(b"AWAY")
    worker = make_worker(sessions, fake_detector, season)
    result = worker.process(season / "away.mkv")
    assert (result.outcome, result.retry_in_s) == (Outcome.RETRY, 60.0)
    away = state_of(sessions, season / "away.mkv")
    assert (away.state, away.attempts, away.last_error, away.claimed_by) == ("pending", 0, None, None)


def test_crashes_retry_with_backoff_then_fail(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    (season / "odd.mkv").write_bytes(b"CRASH")
    worker = make_worker(sessions, fake_detector, season, attempts=2)
    first = worker.process(season / "odd.mkv")
    assert (first.outcome, first.retry_in_s) == (Outcome.RETRY, 10)
    assert state_of(sessions, season / "odd.mkv").state == EpisodeState.PENDING
    second = worker.process(season / "odd.mkv")
    assert second.outcome == Outcome.FAILED
    episode = state_of(sessions, season / "odd.mkv")
    assert episode.state == "failed"
    assert episode.last_error == "gave up after 2 attempts: RuntimeError: out of memory"


def test_missing_and_deleted_during_detection(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    worker = make_worker(sessions, fake_detector, season)
    with sessions.begin() as s:
        episodes.note_seen(s, episodes.Seen(str(season / "gone.mkv"), str(season), 5, 5))
    assert worker.process(season / "gone.mkv").outcome == Outcome.MISSING
    assert state_of(sessions, season / "gone.mkv").state == EpisodeState.MISSING

    def detect_then_vanish(path: Path, siblings: object = ()) -> object:
        path.unlink()
        raise FileNotFoundError(path)

    worker._detect = detect_then_vanish  # type: ignore[assignment]
    assert worker.process(season / "e1.mkv").outcome == Outcome.MISSING
    assert state_of(sessions, season / "e1.mkv").state == EpisodeState.MISSING


def test_a_file_changed_during_detection_goes_back_to_pending(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    worker = make_worker(sessions, fake_detector, season)
    real = fake_detector.detect

    def detect_while_appended(path: Path, siblings: object = ()) -> object:
        with path.open("ab") as f:
            f.write(b"more")
        return real(path)

    worker._detect = detect_while_appended  # type: ignore[assignment]
    assert worker.process(season / "e1.mkv").outcome == Outcome.CHANGED
    episode = state_of(sessions, season / "e1.mkv")
    assert (episode.state, episode.attempts) == ("pending", 0)
    with sessions() as s:
        assert s.scalars(select(DetectionRecord)).all() == []


def test_two_workers_never_take_the_same_episode(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    fake_detector.gate = threading.Event()
    service = make_worker(sessions, fake_detector, season, owner="host:1")
    rescan = make_worker(sessions, fake_detector, season, owner="host:2")
    results = []
    thread = threading.Thread(target=lambda: results.append(service.process(season / "e1.mkv")))
    thread.start()
    assert fake_detector.entered.wait(5)
    assert state_of(sessions, season / "e1.mkv").claimed_by == "host:1"
    assert rescan.process(season / "e1.mkv", RESCAN_STATES, force=True).outcome == Outcome.BUSY
    fake_detector.gate.set()
    thread.join()
    assert results[0].outcome == Outcome.DONE and len(fake_detector.calls) == 1


def test_released_claims_drop_the_late_result(
    sessions: sessionmaker[Session], fake_detector: FakeDetector, season: Path
) -> None:
    fake_detector.gate = threading.Event()
    worker = make_worker(sessions, fake_detector, season)
    results = []
    thread = threading.Thread(target=lambda: results.append(worker.process(season / "e1.mkv")))
    thread.start()
    assert fake_detector.entered.wait(5) and worker.busy()
    worker.stopping.set()
    assert len(worker.release_claims()) == 1
    assert state_of(sessions, season / "e1.mkv").state == EpisodeState.PENDING
    assert worker.process(season / "e2.mkv").outcome == Outcome.STOPPED  # nothing new once stopping
    fake_detector.gate.set()
    thread.join()
    assert results[0].outcome == Outcome.STOPPED and not worker.busy()
    episode = state_of(sessions, season / "e1.mkv")
    assert (episode.state, episode.attempts) == ("pending", 0)
