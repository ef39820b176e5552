"""PushService against the daemon's real schema (SQLite): due pushes, outcomes recorded, retries, re-queueing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from daemon.publish.base import EpisodeRef, PushAction, PushResult
from daemon.publish.credentials import Secret
from daemon.publish.errors import AuthError, PluginMissingError, TransientPublishError
from daemon.publish.pusher import PushService
from db import episodes
from db.models import Push
from detector.result import Intro, Segment
from tests.daemon.publish.segments import of
from tests.fakeservers.db import make_db, store_result

INTRO = Intro(10.0, 70.0, 0.9)
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Stub:
    kind = "stub"

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds: tuple[str, ...] = ("recap", "intro", "credits", "preview")
        self.pushed: list[tuple[Path, tuple[Segment, ...]]] = []
        self.errors: list[Exception] = []  # raised by the next pushes, in order
        self.during_push = lambda: None

    def probe(self) -> None:
        pass

    def push(self, episode: EpisodeRef, segments: Iterable[Segment]) -> PushResult:
        self.pushed.append((episode.path, tuple(segments)))
        self.during_push()
        if self.errors:
            raise self.errors.pop(0)
        return PushResult(self.name, PushAction.CREATED, "ok")


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    return make_db(tmp_path)


@pytest.fixture
def clock() -> list[datetime]:
    return [T0]


def rows(sessions: sessionmaker[Session]) -> list[Push]:
    with sessions() as session:
        return list(session.scalars(select(Push).order_by(Push.id)))


def service(sessions: sessionmaker[Session], clock: list[datetime], *stubs: Stub) -> PushService:
    return PushService(sessions, list(stubs), clock=lambda: clock[0])


def test_a_stored_result_is_pushed_once_and_recorded(sessions: sessionmaker[Session], clock: list[datetime]) -> None:
    stub = Stub("a")
    detection_id = store_result(sessions, Path("/tv/S/e1.mkv"), INTRO, ["a"])
    store_result(sessions, Path("/tv/S/e2.mkv"), None, ["a"])
    reports = service(sessions, clock, stub).run_due()
    assert [r.state for r in reports] == ["done", "done"]
    assert stub.pushed == [(Path("/tv/S/e1.mkv"), of(INTRO)), (Path("/tv/S/e2.mkv"), ())]
    first = rows(sessions)[0]
    assert (first.state, first.attempts, first.detection_id, first.pushed_at) == ("done", 1, detection_id, T0)
    assert service(sessions, clock, stub).run_due() == []


def test_a_down_target_is_tried_once_per_run_and_others_go_on(
    sessions: sessionmaker[Session], clock: list[datetime]
) -> None:
    down, up = Stub("down"), Stub("up")
    down.errors = [TransientPublishError("cannot connect")] * 3
    for n in range(3):
        store_result(sessions, Path(f"/tv/S/e{n}.mkv"), INTRO, ["down", "up"])
    svc = service(sessions, clock, down, up)
    svc.run_due()
    assert len(down.pushed) == 1 and len(up.pushed) == 3
    states = {(r.target, r.state, r.attempts) for r in rows(sessions)}
    assert ("down", "pending", 1) in states and ("down", "pending", 0) in states
    failed_row = next(r for r in rows(sessions) if r.target == "down" and r.attempts == 1)
    assert failed_row.next_attempt_at == T0 + timedelta(seconds=60)
    assert failed_row.last_error == "cannot connect"


def test_a_resting_target_is_not_asked_again_before_its_retry_after(
    sessions: sessionmaker[Session], clock: list[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    busy = Stub("busy")
    busy.errors = [TransientPublishError("HTTP 429", retry_after_s=120)]
    for n in range(3):
        store_result(sessions, Path(f"/tv/S/e{n}.mkv"), INTRO, ["busy"])
    svc = service(sessions, clock, busy)
    svc.run_due()
    assert svc.resume_at() == T0 + timedelta(seconds=120)
    clock[0] = T0 + timedelta(seconds=119)
    assert svc.run_due() == [] and len(busy.pushed) == 1  # the two others waited with the first
    clock[0] = T0 + timedelta(seconds=120)
    assert [r.state for r in svc.run_due()] == ["done"] * 3  # all three at once, each exactly once
    assert sorted(p.name for p, _ in busy.pushed) == ["e0.mkv", "e0.mkv", "e1.mkv", "e2.mkv"]
    assert svc.resume_at() is None and "busy: answering again" in caplog.text


def test_a_target_rests_longer_with_each_failure_in_a_row_and_starts_over_after_a_success(
    sessions: sessionmaker[Session], clock: list[datetime]
) -> None:
    flaky = Stub("flaky")
    flaky.errors = [TransientPublishError("down")] * 3
    for n in range(3):
        store_result(sessions, Path(f"/tv/S/e{n}.mkv"), INTRO, ["flaky"])
    svc = service(sessions, clock, flaky)
    rests = []
    for _ in range(3):
        svc.run_due()
        resume = svc.resume_at()
        assert resume is not None
        rests.append((resume - clock[0]).total_seconds())
        clock[0] = resume
    assert rests == [60, 120, 240]
    assert [r.state for r in svc.run_due()] == ["done"] * 3
    flaky.errors = [TransientPublishError("down")]
    store_result(sessions, Path("/tv/S/e0.mkv"), INTRO, ["flaky"], mtime_ns=2)
    svc.run_due()
    resume = svc.resume_at()
    assert resume is not None and (resume - clock[0]).total_seconds() == 60


def test_a_run_stops_between_pushes_when_the_daemon_stops(
    sessions: sessionmaker[Session], clock: list[datetime]
) -> None:
    stub, stopping = Stub("a"), threading.Event()
    stub.during_push = stopping.set
    for n in range(3):
        store_result(sessions, Path(f"/tv/S/e{n}.mkv"), INTRO, ["a"])
    reports = service(sessions, clock, stub).run_due(stopping=stopping)
    assert len(reports) == 1 and [r.state for r in rows(sessions)] == ["done", "pending", "pending"]


def test_permanent_failures_wait_for_retry_failed(sessions: sessionmaker[Session], clock: list[datetime]) -> None:
    stub = Stub("a")
    stub.errors = [AuthError("HTTP 401")]
    store_result(sessions, Path("/tv/S/e1.mkv"), INTRO, ["a"])
    store_result(sessions, Path("/tv/S/e2.mkv"), INTRO, ["a"])
    svc = service(sessions, clock, stub)
    svc.run_due()
    assert [(r.state, r.last_error) for r in rows(sessions)] == [("failed", "HTTP 401"), ("done", None)]
    clock[0] += timedelta(days=1)
    assert svc.run_due() == []  # failed stays failed
    assert svc.queue(failed_only=True) == 1  # the done one is left alone
    [report] = svc.run_due()
    assert report.state == "done" and report.job.path == Path("/tv/S/e1.mkv")


def test_push_paths_requeues_done_episodes_under_a_folder(
    sessions: sessionmaker[Session], clock: list[datetime]
) -> None:
    stub = Stub("a")
    for path in ("/tv/S/e1.mkv", "/tv/S/e2.mkv", "/tv/S2/e1.mkv", "/tv/S_x.mkv"):
        store_result(sessions, Path(path), INTRO, ["a"])
    svc = service(sessions, clock, stub)
    svc.run_due()
    assert svc.queue(paths=[Path("/tv/S")]) == 2
    assert [r.job.path.name for r in svc.run_due()] == ["e1.mkv", "e2.mkv"]
    assert svc.queue() == 4  # --all


def test_a_detection_arriving_mid_push_is_not_lost(sessions: sessionmaker[Session], clock: list[datetime]) -> None:
    stub = Stub("a")
    path = Path("/tv/S/e1.mkv")
    store_result(sessions, path, INTRO, ["a"])
    newer = Intro(12.0, 72.0, 0.9)
    stub.during_push = lambda: store_result(sessions, path, newer, ["a"], mtime_ns=2)
    service(sessions, clock, stub).run_due()
    [row] = rows(sessions)
    assert (row.state, row.detection_id) == ("pending", None)  # the old push did not mark the new result done
    stub.during_push = lambda: None
    service(sessions, clock, stub).run_due()
    assert stub.pushed[-1] == (path, of(newer))


def test_missing_files_and_unknown_targets_are_skipped(sessions: sessionmaker[Session], clock: list[datetime]) -> None:
    stub = Stub("a")
    store_result(sessions, Path("/tv/S/gone.mkv"), INTRO, ["a", "removed-from-config"])
    with sessions.begin() as session:
        episodes.mark_missing(session, "/tv/S/gone.mkv")
    assert service(sessions, clock, stub).run_due() == []


def test_an_unexpected_error_fails_with_a_traceback(
    sessions: sessionmaker[Session], clock: list[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    stub = Stub("a")
    stub.errors = [KeyError("Items")]
    store_result(sessions, Path("/tv/S/e1.mkv"), INTRO, ["a"])
    [report] = service(sessions, clock, stub).run_due()
    assert report.state == "failed" and report.error == "unexpected KeyError: 'Items'"
    assert "Traceback" in caplog.text


def test_a_stored_error_never_holds_a_key(sessions: sessionmaker[Session], clock: list[datetime]) -> None:
    key = Secret("k3y/from+config").reveal()
    stub = Stub("a")
    stub.errors = [ValueError(f"invalid literal for int(): {key!r}"), AuthError(f"401 ?token={quote(key, safe='')}")]
    store_result(sessions, Path("/tv/S/e1.mkv"), INTRO, ["a"])
    store_result(sessions, Path("/tv/S/e2.mkv"), INTRO, ["a"])
    reports = service(sessions, clock, stub).run_due()
    stored = [r.last_error for r in rows(sessions)]
    assert stored == ["unexpected ValueError: invalid literal for int(): '***'", "401 ?token=***"]
    assert [r.error for r in reports] == stored  # what `push` prints


def test_the_same_problem_is_logged_once(
    sessions: sessionmaker[Session], clock: list[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    stub = Stub("a")
    stub.errors = [PluginMissingError("install the plugin")] * 3
    for n in range(3):
        store_result(sessions, Path(f"/tv/S/e{n}.mkv"), INTRO, ["a"])
    reports = service(sessions, clock, stub).run_due()
    assert [r.state for r in reports] == ["failed"] * 3
    assert caplog.text.count("install the plugin") == 1


def test_a_rewritten_media_file_is_reported(sessions: sessionmaker[Session], clock: list[datetime]) -> None:
    stub = Stub("a")
    stub.push = lambda episode, segments: PushResult("a", PushAction.CREATED, file_changed=True)  # type: ignore[method-assign]
    store_result(sessions, Path("/tv/S/e1.mkv"), INTRO, ["a"])
    changed: list[Path] = []
    PushService(sessions, [stub], clock=lambda: clock[0], on_file_changed=changed.append).run_due()
    assert changed == [Path("/tv/S/e1.mkv")]


def test_each_target_gets_the_detections_segments_of_its_kinds(
    sessions: sessionmaker[Session], clock: list[datetime]
) -> None:
    everything, intro_and_credits = Stub("all"), Stub("some")
    intro_and_credits.kinds = ("intro", "credits")
    recap = Segment("recap", 0.0, 42.0, 0.8, ("repetition",))
    credits = Segment("credits", 1380.0, 1460.0, 0.85, ("black-card", "text"), final=True)
    store_result(sessions, Path("/tv/S/e1.mkv"), INTRO, ["all", "some"], others=[credits, recap])
    store_result(sessions, Path("/tv/S/e2.mkv"), None, ["all", "some"], others=[credits])
    service(sessions, clock, everything, intro_and_credits).run_due()
    intro = Segment("intro", 10.0, 70.0, 0.9)
    assert everything.pushed == [(Path("/tv/S/e1.mkv"), (recap, intro, credits)), (Path("/tv/S/e2.mkv"), (credits,))]
    assert intro_and_credits.pushed == [(Path("/tv/S/e1.mkv"), (intro, credits)), (Path("/tv/S/e2.mkv"), (credits,))]


def test_undo_gives_each_publisher_the_empty_set(sessions: sessionmaker[Session], clock: list[datetime]) -> None:
    stub = Stub("a")
    store_result(sessions, Path("/tv/S/e1.mkv"), INTRO, ["a"], others=[Segment("preview", 1460.0, 1500.0, 0.7)])
    service(sessions, clock, stub).undo(targets=["a"])
    assert stub.pushed == [(Path("/tv/S/e1.mkv"), ())]
