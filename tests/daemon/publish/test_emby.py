"""Emby specifics: ordinary chapters survive, the missing-plugin message, the time format ChapterApi parses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.publish.base import EpisodeRef
from daemon.publish.credentials import Secret
from daemon.publish.emby import EmbyOptions, EmbyPublisher, _timespan
from daemon.publish.errors import PluginMissingError
from daemon.publish.options import ServerOptions
from detector.result import Intro
from tests.fakeservers.emby import FakeEmby

KEY = "emby-key-0000"
PATH = "/tv/Show/S01E01.mkv"
EPISODE = EpisodeRef(Path(PATH), 1500.0)


def publisher(url: str) -> EmbyPublisher:
    return EmbyPublisher("emby", EmbyOptions(ServerOptions(url, Secret(KEY))))


@pytest.fixture
def fake() -> Iterator[FakeEmby]:
    server = FakeEmby(KEY, {PATH: "417"}).start()
    yield server
    server.stop()


def test_ordinary_chapters_are_kept(fake: FakeEmby) -> None:
    fake.chapters["417"] = [
        {"Name": "Chapter 1", "MarkerType": "Chapter", "StartPositionTicks": 0},
        {"Name": "Chapter 2", "MarkerType": "Chapter", "StartPositionTicks": 6_000_000_000},
    ]
    emby = publisher(fake.url)
    emby.push(EPISODE, Intro(20.0, 80.0, 0.9))
    emby.push(EPISODE, Intro(21.5, 81.25, 0.9))
    names = [(c["MarkerType"], c["StartPositionTicks"]) for c in fake.chapters["417"]]
    assert names == [
        ("Chapter", 0),
        ("IntroStart", 215_000_000),
        ("IntroEnd", 812_500_000),
        ("Chapter", 6_000_000_000),
    ]
    assert all(r.headers.get("X-Emby-Token") == KEY for r in fake.requests)


def test_without_chapterapi_it_says_what_to_install() -> None:
    server = FakeEmby(KEY, {PATH: "417"}, plugin=False).start()
    try:
        with pytest.raises(PluginMissingError, match="ChapterApi"):
            publisher(server.url).push(EPISODE, Intro(20.0, 80.0, 0.9))
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "00:00:00.000"), (74.5, "00:01:14.500"), (3725.0456, "01:02:05.046"), (59.9996, "00:01:00.000")],
)
def test_timespan_is_what_dotnet_parses(seconds: float, text: str) -> None:
    assert _timespan(seconds) == text
