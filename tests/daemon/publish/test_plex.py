"""Plex over HTTP (per-user markers, no Skip Intro: see plex_db for that): Plex's own intro marker is edited, never
duplicated, and kept when ours goes; sections paged; the probe says what the route does not give."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.credentials import Secret
from daemon.publish.options import ServerOptions
from daemon.publish.plex import PlexOptions, PlexPublisher
from tests.daemon.publish.segments import EVERY_KIND, WITHOUT_CREDITS, intro
from tests.fakeservers.plex import FakePlex

TOKEN = "plex-token-xyz"
PATH = "/tv/Show/S01E01.mkv"
EPISODE = EpisodeRef(Path(PATH), 1500.0)


def publisher(url: str) -> PlexPublisher:
    return PlexPublisher("plex", PlexOptions(ServerOptions(url, Secret(TOKEN), page_size=2)))


@pytest.fixture
def fake() -> Iterator[FakePlex]:
    files = {f"/tv/Show/S01E0{n}.mkv": str(500 + n) for n in range(1, 6)}
    server = FakePlex(TOKEN, {"1": ("/anime", {"/anime/A/E1.mkv": "900"}), "2": ("/tv", files)}).start()
    yield server
    server.stop()


def test_plex_own_intro_marker_is_edited_not_duplicated(fake: FakePlex) -> None:
    fake.add_plex_marker("501", 10_000, 60_000)
    plex = publisher(fake.url)
    assert plex.push(EPISODE, intro(12.345, 70.0, 0.9)).action is PushAction.REPLACED
    assert fake.intro_of("501") == (12.345, 70.0)
    [edit] = fake.calls("PUT", r"/library/metadata/501/marker/\d+")
    assert (edit.arg("type"), edit.arg("startTimeOffset"), edit.arg("endTimeOffset")) == ("0", "12345", "70000")
    assert fake.calls("POST", r"/library/metadata/501/marker") == []


def test_markers_plex_made_stay_when_ours_goes(fake: FakePlex) -> None:
    plex = publisher(fake.url)
    plex.push(EPISODE, intro(12.0, 70.0, 0.9))
    assert plex.push(EPISODE, ()).action is PushAction.REMOVED
    fake.add_plex_marker("501", 10_000, 60_000)
    assert plex.push(EPISODE, ()).action is PushAction.UNCHANGED  # 400 "Marker is not a bookmark": kept
    assert fake.intro_of("501") == (10.0, 60.0)


def test_episodes_come_from_every_tv_section_in_pages(fake: FakePlex) -> None:
    plex = publisher(fake.url)
    plex.push(EpisodeRef(Path("/tv/Show/S01E05.mkv"), 1500.0), intro(1.0, 2.0, 0.9))
    assert fake.user_markers_of("505") == [("intro", 1.0, 2.0)]
    assert fake.intro_of("505") is None  # a user's marker: no "Skip Intro" (kind = "plex_db" gives one)
    assert fake.calls("GET", "/library/sections/99/all") == []  # the film library is not listed
    starts = [r.arg("X-Plex-Container-Start") for r in fake.calls("GET", "/library/sections/2/all")]
    assert starts == ["0", "2", "4"]
    for request in fake.requests:
        assert request.headers["X-Plex-Token"] == TOKEN and "X-Plex-Token" not in request.query
        assert request.headers["X-Plex-Client-Identifier"] == "intro-daemon"


def test_probe_says_the_route_gives_no_skip_intro(fake: FakePlex, caplog: pytest.LogCaptureFixture) -> None:
    publisher(fake.url).probe()
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "per-user markers, which give no Skip Intro button" in warning.getMessage()
    assert 'kind = "plex_db"' in warning.getMessage()


def test_only_the_intro_goes_through_this_route(fake: FakePlex) -> None:
    plex = publisher(fake.url)
    assert plex.kinds == ("intro",)
    assert plex.push(EPISODE, EVERY_KIND).action is PushAction.CREATED
    assert fake.user_markers_of("501") == [("intro", 60.5, 120.25)]  # no guessed code for the credits
    assert plex.push(EPISODE, EVERY_KIND).action is PushAction.UNCHANGED
    assert plex.push(EPISODE, WITHOUT_CREDITS).action is PushAction.UNCHANGED
    assert plex.push(EPISODE, ()).action is PushAction.REMOVED
