"""Jellyfin specifics: route probing, the missing-plugin message, other segments kept, stale ids, paging, auth."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.credentials import Secret
from daemon.publish.errors import PluginMissingError
from daemon.publish.jellyfin import JellyfinOptions, JellyfinPublisher, WriteRoute
from daemon.publish.options import ServerOptions
from daemon.publish.pusher import PushService
from detector.result import Intro
from tests.fakeservers.db import make_db, store_result
from tests.fakeservers.jellyfin import FakeJellyfin

KEY = "jf-key-abcdef"
PATH = "/tv/Show/S01E01.mkv"
EPISODE = EpisodeRef(Path(PATH), 1500.0)
ITEMS = {PATH: "aa01", **{f"/tv/Show/S01E0{n}.mkv": f"aa0{n}" for n in range(2, 7)}}
INTRO = Intro(30.0, 95.5, 0.9)


def publisher(url: str, page_size: int = 500) -> JellyfinPublisher:
    return JellyfinPublisher("jf", JellyfinOptions(ServerOptions(url, Secret(KEY), page_size=page_size)))


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJellyfin]:
    server = FakeJellyfin(KEY, ITEMS, plugin=getattr(request, "param", "segments")).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("fake", "route"),
    [("segments", WriteRoute.SEGMENTS_PUT), ("timestamps", WriteRoute.TIMESTAMPS_POST)],
    indirect=["fake"],
)
def test_probe_reads_the_routes_the_server_really_has(fake: FakeJellyfin, route: WriteRoute) -> None:
    jf = publisher(fake.url)
    jf.probe()
    assert jf.route is route


@pytest.mark.parametrize("fake", [None], indirect=True)
def test_without_a_plugin_it_says_once_what_to_install(
    fake: FakeJellyfin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    jf = publisher(fake.url)
    sessions = make_db(tmp_path)
    for n in range(3):
        store_result(sessions, Path(f"/tv/Show/S01E0{n + 1}.mkv"), INTRO, ["jf"])
    service = PushService(sessions, [jf])
    service.probe()  # at start
    reports = service.run_due()
    assert [r.state for r in reports] == ["failed"] * 3
    for report in reports:
        assert "Intro Skipper" in (report.error or "")
        assert "https://manifest.intro-skipper.org/manifest.json" in (report.error or "")
    assert caplog.text.count("no plugin route") == 1
    assert len(fake.calls("GET", "/api-docs/openapi.json")) == 1  # probed once, not per push
    assert jf.route is WriteRoute.NONE


def test_segments_of_other_types_are_kept(fake: FakeJellyfin) -> None:
    outro = {"Id": "o1", "ItemId": "aa01", "Type": "Outro", "StartTicks": 13_000_000_000, "EndTicks": 14_000_000_000}
    fake.segments["aa01"] = [outro]
    jf = publisher(fake.url)
    jf.push(EPISODE, INTRO)
    jf.push(EPISODE, Intro(31.0, 96.0, 0.9))
    types = sorted(s["Type"] for s in fake.segments["aa01"])
    assert types == ["Intro", "Outro"]
    assert next(s for s in fake.segments["aa01"] if s["Type"] == "Outro")["StartTicks"] == 13_000_000_000
    [put, _] = fake.calls("PUT", "/MediaSegmentsApi/aa01")
    intro = next(s for s in put.body if s["Type"] == "Intro")
    assert (intro["StartTicks"], intro["EndTicks"]) == (300_000_000, 955_000_000)  # seconds x 10,000,000


def test_authorization_header_is_the_mediabrowser_form(fake: FakeJellyfin) -> None:
    publisher(fake.url).push(EPISODE, INTRO)
    for request in fake.requests:
        assert request.headers["Authorization"].startswith("MediaBrowser ")
        assert f'Token="{KEY}"' in request.headers["Authorization"]
        assert "X-Emby-Token" not in request.headers
        assert not {"api_key", "ApiKey"} & set(request.query)


def test_episodes_are_listed_in_pages_once_then_cached(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url, page_size=4)
    jf.push(EPISODE, INTRO)
    jf.push(EpisodeRef(Path("/tv/Show/S01E05.mkv"), 1500.0), INTRO)
    starts = [r.arg("startIndex") for r in fake.calls("GET", "/Items")]
    assert starts == ["0", "4"]
    assert fake.intro_of("aa05") == (30.0, 95.5)


def test_an_item_recreated_under_a_new_id_is_found_again(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url)
    jf.push(EPISODE, INTRO)
    fake.items[PATH] = "bb01"  # a rescan gave the file a new item
    assert jf.push(EPISODE, Intro(40.0, 100.0, 0.9)).action is PushAction.CREATED
    assert fake.intro_of("bb01") == (40.0, 100.0)


@pytest.mark.parametrize("fake", ["timestamps"], indirect=True)
def test_timestamps_are_sent_in_seconds(fake: FakeJellyfin) -> None:
    publisher(fake.url).push(EPISODE, INTRO)
    [post] = fake.calls("POST", "/Episode/aa01/Timestamps")
    assert post.body == {"Introduction": {"Start": 30.0, "End": 95.5}}


def test_a_plugin_removed_while_running_is_reported_as_missing(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url)
    jf.push(EPISODE, INTRO)
    fake.plugin = None  # uninstalled; the daemon still believes the route exists
    with pytest.raises(PluginMissingError, match="plugin route is gone"):
        jf.push(EPISODE, Intro(40.0, 100.0, 0.9))
    with pytest.raises(PluginMissingError, match="no plugin route"):
        jf.push(EPISODE, Intro(40.0, 100.0, 0.9))  # probed again
