"""Emby specifics: ordinary chapters survive, the missing-plugin message, the time format ChapterApi parses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from daemon.publish import emby as emby_module
from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.credentials import Secret
from daemon.publish.emby import EmbyOptions, EmbyPublisher, _timespan
from daemon.publish.errors import PermanentPublishError, PluginMissingError
from daemon.publish.options import ServerOptions
from tests.daemon.publish.segments import EVERY_KIND, WITHOUT_CREDITS, intro
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
    emby.push(EPISODE, intro(20.0, 80.0, 0.9))
    emby.push(EPISODE, intro(21.5, 81.25, 0.9))
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
            publisher(server.url).push(EPISODE, intro(20.0, 80.0, 0.9))
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "00:00:00.000"), (74.5, "00:01:14.500"), (3725.0456, "01:02:05.046"), (59.9996, "00:01:00.000")],
)
def test_timespan_is_what_dotnet_parses(seconds: float, text: str) -> None:
    assert _timespan(seconds) == text


# -- every kind: Emby has markers for the intro and the credits only ------------------------------------------------
def updates(fake: FakeEmby) -> list[dict[str, str | None]]:
    return [
        {k: r.arg(k) for k in ("action", "type", "time")}
        for r in fake.calls("GET", "/emby/chapter_api/update_chapters")
    ]


def test_the_intro_and_the_credits_become_emby_markers_once(fake: FakeEmby) -> None:
    fake.chapters["417"] = [{"Name": "Chapter 1", "MarkerType": "Chapter", "StartPositionTicks": 0}]
    emby = publisher(fake.url)
    assert emby.push(EPISODE, EVERY_KIND).action is PushAction.CREATED
    # No recap or preview marker exists in Emby: those two are not sent at all.
    assert fake.markers_of("417") == [("IntroStart", 60.5), ("IntroEnd", 120.25), ("CreditsStart", 1380.0)]
    assert [u["type"] for u in updates(fake)] == ["intro_start", "intro_end", "credits_start"]

    before = len(updates(fake))
    assert emby.push(EPISODE, EVERY_KIND).action is PushAction.UNCHANGED
    assert len(updates(fake)) == before  # nothing written the second time

    assert emby.push(EPISODE, WITHOUT_CREDITS).action is PushAction.REPLACED
    assert fake.markers_of("417") == [("IntroStart", 60.5), ("IntroEnd", 120.25)]
    assert [u["action"] for u in updates(fake)[before:]] == ["remove"]  # the intro's markers were left as they were
    assert fake.chapters["417"][0]["Name"] == "Chapter 1"  # and the ordinary chapter too

    assert emby.push(EPISODE, ()).action is PushAction.REMOVED
    assert fake.markers_of("417") == []


def test_a_target_for_the_credits_only_leaves_the_intro_markers_alone(fake: FakeEmby) -> None:
    fake.chapters["417"] = [
        {"Name": "Intro Start", "MarkerType": "IntroStart", "StartPositionTicks": 100_000_000},  # Emby's own detection
        {"Name": "Intro End", "MarkerType": "IntroEnd", "StartPositionTicks": 400_000_000},
    ]
    emby = EmbyPublisher("emby", EmbyOptions(ServerOptions(fake.url, Secret(KEY)), kinds=("credits",)))
    assert emby.push(EPISODE, EVERY_KIND).action is PushAction.CREATED
    assert fake.markers_of("417") == [("IntroStart", 10.0), ("IntroEnd", 40.0), ("CreditsStart", 1380.0)]


def test_the_stand_in_refuses_a_marker_emby_has_not(fake: FakeEmby) -> None:
    answer = requests.get(
        f"{fake.url}/emby/chapter_api/update_chapters",
        params={"id": "417", "action": "add", "type": "recap_start", "time": "00:00:10.000"},
        headers={"X-Emby-Token": KEY},
        timeout=5,
    )
    assert answer.status_code == 200 and "Chapter Marker Type not valid : recap_start" in answer.json()
    assert fake.markers_of("417") == []


def test_a_refused_marker_is_a_permanent_error(fake: FakeEmby, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(emby_module._TYPES, emby_module._CREDITS_START, "credits")  # a type ChapterApi refuses
    with pytest.raises(PermanentPublishError, match=r"ChapterApi refused .*Chapter Marker Type not valid : credits"):
        publisher(fake.url).push(EPISODE, EVERY_KIND)
