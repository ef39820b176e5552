"""Every server publisher, end to end against a fake server on 127.0.0.1 that speaks the documented routes:
first push, re-push, new detection, removal, 401, unknown item, 500 then success, a timeout, and a server that is
down while a push is queued and comes back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.pathmap import PathMap
from daemon.publish.base import EpisodeRef, Publisher, PushAction
from daemon.publish.credentials import Secret
from daemon.publish.emby import EmbyOptions, EmbyPublisher
from daemon.publish.errors import AuthError, ItemNotFoundError, TransientPublishError
from daemon.publish.jellyfin import JellyfinOptions, JellyfinPublisher
from daemon.publish.options import ServerOptions
from daemon.publish.plex import PlexOptions, PlexPublisher
from daemon.publish.pusher import PushService
from detector.result import Intro
from tests.daemon.publish.segments import of
from tests.fakeservers.base import FakeServer
from tests.fakeservers.db import make_db, store_result
from tests.fakeservers.emby import FakeEmby
from tests.fakeservers.jellyfin import FakeJellyfin
from tests.fakeservers.plex import FakePlex

KEY = "s3cr3t-key-0123456789"
EPISODE = EpisodeRef(Path("/mnt/tv/Show/Season 01/Show S01E01.mkv"), 1500.0)
SERVER_PATH = "/data/tv/Show/Season 01/Show S01E01.mkv"  # the same file as the server sees it
OTHER = {"/data/tv/Show/Season 01/Show S01E02.mkv": "2", "/data/tv/Other/S01E01.mkv": "3"}
PATH_MAP = PathMap.from_pairs([("/mnt/tv", "/data/tv")])
FIRST = Intro(12.345, 74.5, 0.9)
SECOND = Intro(15.001, 76.25, 0.95)


def server_options(url: str, key: str, timeout_s: float) -> ServerOptions:
    return ServerOptions(url=url, secret=Secret(key), path_map=PATH_MAP, timeout_s=timeout_s, page_size=2)


@dataclass(frozen=True)
class Kit:
    name: str
    item: str  # the episode's id on the server
    fake: Callable[[], FakeServer]
    publisher: Callable[[str, str, float], Publisher]  # url, key, timeout
    can_remove: bool = True
    # Plex's HTTP route writes the user's own marker, which gives no "Skip Intro" (FakePlex.intro_of says so):
    # these transport tests read back what the route wrote.
    user_marker: bool = False

    def intro_on(self, fake: Any) -> tuple[float, float] | None:
        if self.user_marker:
            intros = [(start, end) for kind, start, end in fake.user_markers_of(self.item) if kind == "intro"]
            assert len(intros) <= 1, f"duplicated intro markers: {intros}"
            return intros[0] if intros else None
        return fake.intro_of(self.item)  # type: ignore[no-any-return]


KITS = [
    Kit(
        "jellyfin-segments",
        "9f1c",
        lambda: FakeJellyfin(KEY, {SERVER_PATH: "9f1c", **OTHER}, plugin="segments"),
        lambda url, key, t: JellyfinPublisher("jf", JellyfinOptions(server_options(url, key, t))),
    ),
    Kit(
        "jellyfin-timestamps",
        "9f1c",
        lambda: FakeJellyfin(KEY, {SERVER_PATH: "9f1c", **OTHER}, plugin="timestamps"),
        lambda url, key, t: JellyfinPublisher("jf", JellyfinOptions(server_options(url, key, t))),
        can_remove=False,  # Intro Skipper's Timestamps route has no way to remove
    ),
    Kit(
        "emby",
        "417",
        lambda: FakeEmby(KEY, {SERVER_PATH: "417", **OTHER}),
        lambda url, key, t: EmbyPublisher("emby", EmbyOptions(server_options(url, key, t))),
    ),
    Kit(
        "plex",
        "5021",
        lambda: FakePlex(KEY, {"1": ("/data/tv", {SERVER_PATH: "5021", **OTHER}), "2": ("/data/kids", {})}),
        lambda url, key, t: PlexPublisher("plex", PlexOptions(server_options(url, key, t))),
        user_marker=True,
    ),
]


@pytest.fixture(params=KITS, ids=lambda kit: kit.name)
def kit(request: pytest.FixtureRequest) -> Kit:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def fake(kit: Kit) -> Iterator[Any]:
    server = kit.fake().start()
    yield server
    server.stop()


def writes(fake: FakeServer) -> list[str]:
    """The requests that change something (Emby's ChapterApi mutates over GET)."""
    return [
        f"{r.method} {r.path}"
        for r in fake.requests
        if r.method in ("POST", "PUT", "DELETE") or r.path.endswith("update_chapters")
    ]


def assert_same_intro(got: tuple[float, float] | None, intro: Intro) -> None:
    assert got is not None
    assert got[0] == pytest.approx(intro.start_s, abs=0.0005)  # to the millisecond
    assert got[1] == pytest.approx(intro.end_s, abs=0.0005)


def test_first_push_then_repush_then_new_detection(kit: Kit, fake: Any) -> None:
    publisher = kit.publisher(fake.url, KEY, 2.0)
    assert publisher.push(EPISODE, of(FIRST)).action is PushAction.CREATED
    assert_same_intro(kit.intro_on(fake), FIRST)

    before = len(writes(fake))
    assert publisher.push(EPISODE, of(FIRST)).action is PushAction.UNCHANGED
    assert len(writes(fake)) == before  # idempotent: nothing written the second time

    assert publisher.push(EPISODE, of(SECOND)).action is PushAction.REPLACED
    assert_same_intro(kit.intro_on(fake), SECOND)  # replaced, and intro_of asserts it is not duplicated


def test_no_intro_removes_ours(kit: Kit, fake: Any) -> None:
    publisher = kit.publisher(fake.url, KEY, 2.0)
    assert publisher.push(EPISODE, ()).action is PushAction.UNCHANGED  # nothing there yet
    publisher.push(EPISODE, of(FIRST))
    result = publisher.push(EPISODE, ())
    if kit.can_remove:
        assert result.action is PushAction.REMOVED
        assert kit.intro_on(fake) is None
    else:
        assert result.action is PushAction.SKIPPED and "cannot remove" in result.detail


def test_wrong_key_is_an_auth_error_that_never_shows_the_key(
    kit: Kit, fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wr0ng-key-ABCDEFGHIJ"
    publisher = kit.publisher(fake.url, wrong, 2.0)
    with pytest.raises(AuthError) as raised:
        publisher.push(EPISODE, of(FIRST))
    assert "401" in str(raised.value)
    assert wrong not in str(raised.value) and KEY not in str(raised.value)
    assert wrong not in caplog.text and KEY not in caplog.text
    assert kit.intro_on(fake) is None


def test_unknown_item_names_both_paths(kit: Kit, fake: Any) -> None:
    publisher = kit.publisher(fake.url, KEY, 2.0)
    stranger = EpisodeRef(Path("/mnt/tv/New Show/S01E01.mkv"), 1400.0)
    with pytest.raises(ItemNotFoundError) as raised:
        publisher.push(stranger, of(FIRST))
    assert str(stranger.path) in str(raised.value)
    assert "/data/tv/New Show/S01E01.mkv" in str(raised.value)  # as the server sees it, through the path map


def test_a_500_is_transient_and_the_next_try_succeeds(kit: Kit, fake: Any) -> None:
    publisher = kit.publisher(fake.url, KEY, 2.0)
    fake.fail_next(500)
    with pytest.raises(TransientPublishError, match="500"):
        publisher.push(EPISODE, of(FIRST))
    assert publisher.push(EPISODE, of(FIRST)).action is PushAction.CREATED
    assert_same_intro(kit.intro_on(fake), FIRST)


def test_a_hung_server_times_out_quickly(kit: Kit, fake: Any) -> None:
    publisher = kit.publisher(fake.url, KEY, 0.3)
    fake.delay_s = 1.0
    with pytest.raises(TransientPublishError, match=r"no answer within 0\.3 s"):
        publisher.push(EPISODE, of(FIRST))
    fake.delay_s = 0.0
    assert publisher.push(EPISODE, of(FIRST)).action is PushAction.CREATED


def test_server_down_then_up_the_queued_push_goes_out(kit: Kit, fake: Any, tmp_path: Path) -> None:
    sessions = make_db(tmp_path)
    publisher = kit.publisher(fake.url, KEY, 1.0)
    now = [datetime(2026, 11, 25, 12, 0, tzinfo=UTC)]
    service = PushService(sessions, [publisher], clock=lambda: now[0])
    store_result(sessions, EPISODE.path, FIRST, [publisher.name], duration_s=EPISODE.duration_s)

    fake.stop()
    [report] = service.run_due()
    assert report.state == "pending" and "cannot connect" in (report.error or "")
    assert service.run_due() == []  # not due again before its backoff

    fake.start()  # same port
    now[0] += timedelta(minutes=5)
    [report] = service.run_due()
    assert report.state == "done"
    assert_same_intro(kit.intro_on(fake), FIRST)

    # A new detection of the same file re-pushes, replacing the marker.
    store_result(sessions, EPISODE.path, SECOND, [publisher.name], duration_s=EPISODE.duration_s, mtime_ns=2)
    [report] = service.run_due()
    assert report.state == "done" and report.result is not None
    assert report.result.action is PushAction.REPLACED
    assert_same_intro(kit.intro_on(fake), SECOND)
