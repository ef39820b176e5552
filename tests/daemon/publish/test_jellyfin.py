"""Jellyfin, against a stand-in for each Intro Skipper build people run (tests/fakeservers/jellyfin.py says which
source each follows): the route chosen from the plugin's version and routes, then per build an intro created, left
alone, replaced and removed as a viewer would see it, other providers' segments left alone, a stale ETag, a missing
plugin; and the publisher's plumbing (auth, paging, stale ids)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.credentials import Secret
from daemon.publish.errors import PluginMissingError, TransientPublishError
from daemon.publish.jellyfin import JellyfinOptions, JellyfinPublisher, Plugin, WriteRoute, choose_route
from daemon.publish.options import ServerOptions
from daemon.publish.pusher import PushService
from detector.result import SEGMENT_KINDS, Intro
from tests.daemon.publish.segments import EVERY_KIND, WITHOUT_CREDITS, intro, of
from tests.fakeservers.base import Reply, Request
from tests.fakeservers.db import make_db, store_result
from tests.fakeservers.jellyfin import CHAPTERS, INTRO_SKIPPER, FakeJellyfin

KEY = "jf-key-abcdef"
PATH = "/tv/Show/S01E01.mkv"
EPISODE = EpisodeRef(Path(PATH), 1500.0)
ITEMS = {PATH: "aa01", **{f"/tv/Show/S01E0{n}.mkv": f"aa0{n}" for n in range(2, 7)}}
INTRO = Intro(30.0, 95.5, 0.9)
LATER = Intro(31.0, 96.0, 0.9)
ROUTES = {
    "1.10.9": WriteRoute.TIMESTAMPS_POST,
    "1.10.10": WriteRoute.TIMESTAMPS_POST,
    "1.10.11-post": WriteRoute.SEGMENTS_POST,
    "etag": WriteRoute.SEGMENTS_PUT,
}
CAN_REMOVE = {"1.10.11-post", "etag"}  # the Timestamps route applies only End > 0
# Everything a push could do beyond its own item's segments: a refresh, a scan, a library-wide erase.
NOT_PER_PUSH = r"/Items/[^/]+/Refresh|/ScheduledTasks/Running/.*|/Library/Refresh|/Intros/EraseTimestamps"


def publisher(url: str, page_size: int = 500, kinds: tuple[str, ...] = SEGMENT_KINDS) -> JellyfinPublisher:
    return JellyfinPublisher("jf", JellyfinOptions(ServerOptions(url, Secret(KEY), page_size=page_size), kinds=kinds))


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJellyfin]:
    server = FakeJellyfin(KEY, ITEMS, plugin=getattr(request, "param", "etag")).start()
    yield server
    server.stop()


def writes(fake: FakeJellyfin) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in ("POST", "PUT", "DELETE")]


def raw(fake: FakeJellyfin, method: str, path: str, **kwargs: Any) -> requests.Response:
    auth = {"Authorization": f'MediaBrowser Client="t", Token="{KEY}"', **kwargs.pop("headers", {})}
    return requests.request(method, fake.url + path, headers=auth, timeout=5, **kwargs)


# -- which route --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fake", list(ROUTES), indirect=True)
def test_probe_reads_the_plugin_version_and_routes(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url)
    jf.probe()
    assert jf.route is ROUTES[fake.build_name]
    assert len(fake.calls("GET", "/Plugins")) == 1


@pytest.mark.parametrize("fake", ["1.10.10"], indirect=True)
def test_another_plugins_segments_api_on_10_10_is_not_taken_for_intro_skippers(fake: FakeJellyfin) -> None:
    # jellyfin-plugin-ms-api (10.10 only) adds POST /MediaSegmentsApi/{itemId} and DELETE /{segmentId}; its POST
    # adds a segment on every call, and Intro Skipper 1.10.10 has no such route.
    fake.extra_paths = {"/MediaSegmentsApi/{itemId}": {"post": {}}, "/MediaSegmentsApi/{segmentId}": {"delete": {}}}
    jf = publisher(fake.url)
    jf.probe()
    assert jf.route is WriteRoute.TIMESTAMPS_POST


def test_a_build_whose_put_cannot_be_read_first_uses_its_timestamps_route() -> None:
    openapi = {
        "paths": {
            "/MediaSegmentsApi/{itemId}": {"post": {}, "put": {}},
            "/MediaSegmentsApi/{segmentId}": {"delete": {}},
            "/Episode/{Id}/Timestamps": {"get": {}, "post": {}},
        }
    }
    assert choose_route(openapi, Plugin("12.0.1.0", "Active")) is WriteRoute.TIMESTAMPS_POST
    openapi["paths"]["/MediaSegmentsApi/{itemId}"]["get"] = {}
    assert choose_route(openapi, Plugin("12.0.1.0", "Active")) is WriteRoute.SEGMENTS_PUT


# -- each build: what the viewer sees -----------------------------------------------------------------------------
@pytest.mark.parametrize("fake", list(ROUTES), indirect=True)
def test_created_then_unchanged_then_replaced(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url)
    assert jf.push(EPISODE, of(INTRO)).action is PushAction.CREATED
    assert fake.intro_of("aa01") == (30.0, 95.5)

    before = writes(fake)
    assert jf.push(EPISODE, of(INTRO)).action is PushAction.UNCHANGED
    assert writes(fake) == before  # nothing written the second time

    assert jf.push(EPISODE, of(LATER)).action is PushAction.REPLACED
    assert fake.intro_of("aa01") == (31.0, 96.0)  # and intro_of asserts there is only one
    assert not [r for r in fake.requests if re.fullmatch(NOT_PER_PUSH, r.path)]


@pytest.mark.parametrize("fake", list(ROUTES), indirect=True)
def test_no_intro_removes_ours_where_the_route_can(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url)
    assert jf.push(EPISODE, ()).action is PushAction.UNCHANGED  # nothing there yet
    jf.push(EPISODE, of(INTRO))
    result = jf.push(EPISODE, ())
    if fake.build_name in CAN_REMOVE:
        assert result.action is PushAction.REMOVED
        assert fake.intro_of("aa01") is None
        assert fake.store.get("aa01") == []  # gone from the plugin's store too: it would come back from there
    else:
        assert result.action is PushAction.SKIPPED
        assert "cannot remove" in result.detail and "erase" in result.detail
        assert fake.intro_of("aa01") == (30.0, 95.5)  # still offered: said so, not hidden
    assert not [r for r in fake.requests if re.fullmatch(NOT_PER_PUSH, r.path)]


@pytest.mark.parametrize("fake", ["1.10.9", "1.10.11-post", "etag"], indirect=True)
def test_other_providers_segments_are_left_alone(fake: FakeJellyfin) -> None:
    fake.add_segment("aa01", "Outro", 1300.0, 1400.0, provider=CHAPTERS)
    fake.add_segment("aa01", "Intro", 10.0, 20.0, provider=CHAPTERS)  # a second opinion, not ours to judge
    jf = publisher(fake.url)
    jf.push(EPISODE, of(INTRO))
    jf.push(EPISODE, of(LATER))
    jf.push(EPISODE, ())
    chapters = [(r.type, r.start_ticks, r.end_ticks) for r in fake.core["aa01"] if r.provider == CHAPTERS]
    assert chapters == [("Outro", 13_000_000_000, 14_000_000_000), ("Intro", 100_000_000, 200_000_000)]
    for request in fake.requests:  # and never sent anywhere
        assert "13000000000" not in str(request.body) and "100000000," not in str(request.body)


@pytest.mark.parametrize("fake", ["1.10.10"], indirect=True)
def test_intro_skipper_1_10_10_replaces_every_providers_segments_when_it_applies_ours(fake: FakeJellyfin) -> None:
    """Not ours to prevent: its MediaSegmentUpdateManager deletes the item's segments of every provider before it
    writes its own (README: what does not work)."""
    fake.add_segment("aa01", "Outro", 1300.0, 1400.0, provider=CHAPTERS)
    publisher(fake.url).push(EPISODE, of(INTRO))
    assert fake.viewer_segments("aa01") == [("Intro", 30.0, 95.5)]
    sent = [r.body for r in fake.calls("POST", "/Episode/aa01/Timestamps")]
    assert sent == [{"Introduction": {"Start": 30.0, "End": 95.5}}]  # only our intro went out


@pytest.mark.parametrize("fake", ["1.10.10"], indirect=True)
def test_intro_skipper_1_10_10_shows_it_only_for_an_episode_it_has_queued(fake: FakeJellyfin) -> None:
    fake.unqueued.add("aa01")  # not in the plugin's QueuedMediaItems: stored, not put into Jellyfin
    assert publisher(fake.url).push(EPISODE, of(INTRO)).action is PushAction.CREATED
    assert fake.intro_of("aa01") is None
    assert [(r.type, r.start_ticks) for r in fake.store["aa01"]] == [("Intro", 300_000_000)]


# -- every kind ---------------------------------------------------------------------------------------------------
# EVERY_KIND as a viewer is offered it: a recap, the intro, the credits (Jellyfin's Outro) and a preview.
EVERY_TYPE = [("Recap", 0.0, 42.0), ("Intro", 60.5, 120.25), ("Outro", 1380.0, 1460.0), ("Preview", 1460.0, 1500.0)]
TAKES = {"1.10.9": {"Intro", "Outro"}}  # its Timestamps route has Introduction and Credits only


@pytest.mark.parametrize("fake", list(ROUTES), indirect=True)
def test_every_kind_becomes_its_segment_type_once(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url)
    result = jf.push(EPISODE, EVERY_KIND)
    assert result.action is PushAction.CREATED
    takes = TAKES.get(fake.build_name, {"Recap", "Intro", "Outro", "Preview"})
    assert fake.viewer_segments("aa01") == [t for t in EVERY_TYPE if t[0] in takes]
    if fake.build_name == "1.10.9":
        assert "this Intro Skipper has no recap or preview" in result.detail  # said, not hidden

    before = writes(fake)
    again = jf.push(EPISODE, EVERY_KIND)
    assert again.action is PushAction.UNCHANGED
    assert writes(fake) == before  # idempotent: nothing written the second time


@pytest.mark.parametrize("fake", list(ROUTES), indirect=True)
def test_dropping_the_credits_takes_off_only_our_outro_where_the_route_can(fake: FakeJellyfin) -> None:
    if fake.build.core_segments and fake.build.projection != "wipe":  # 1.10.10 clears other providers anyway
        fake.add_segment("aa01", "Outro", 1300.0, 1400.0, provider=CHAPTERS)  # another provider's: not ours
    jf = publisher(fake.url)
    jf.push(EPISODE, EVERY_KIND)
    result = jf.push(EPISODE, WITHOUT_CREDITS)
    takes = TAKES.get(fake.build_name, {"Recap", "Intro", "Outro", "Preview"})
    ours = [(r.type, r.start_ticks / 1e7, r.end_ticks / 1e7) for r in fake.store["aa01"]]
    if fake.build_name in CAN_REMOVE:
        assert result.action is PushAction.REPLACED
        assert sorted(ours) == sorted(t for t in EVERY_TYPE if t[0] != "Outro")
        assert ("Outro", 1300.0, 1400.0) in fake.viewer_segments("aa01")  # the chapters' Outro stays
        assert ("Outro", 1380.0, 1460.0) not in fake.viewer_segments("aa01")
    else:
        assert result.action is PushAction.SKIPPED
        assert "cannot remove" in result.detail and "erase the credits" in result.detail
        assert sorted(ours) == sorted(t for t in EVERY_TYPE if t[0] in takes)  # still offered: said so


@pytest.mark.parametrize("fake", ["1.10.11-post", "etag"], indirect=True)
def test_a_target_takes_only_its_kinds_and_leaves_the_plugins_others(fake: FakeJellyfin) -> None:
    fake._set_type("aa01", "Recap", 0, 300_000_000)  # the plugin's own recap detection
    jf = publisher(fake.url, kinds=("intro", "credits"))
    assert jf.push(EPISODE, EVERY_KIND).action is PushAction.CREATED
    assert sorted((r.type, r.start_ticks) for r in fake.store["aa01"]) == [
        ("Intro", 605_000_000),
        ("Outro", 13_800_000_000),
        ("Recap", 0),
    ]
    assert jf.push(EPISODE, ()).action is PushAction.REMOVED  # push --undo: ours go, the plugin's recap stays
    assert [(r.type, r.start_ticks) for r in fake.store["aa01"]] == [("Recap", 0)]


@pytest.mark.parametrize(("fake", "unknown"), [("1.10.11-post", 500), ("etag", 400)], indirect=["fake"])
def test_the_stand_in_refuses_a_segment_type_the_plugin_cannot_take(fake: FakeJellyfin, unknown: int) -> None:
    post = {"params": {"providerId": INTRO_SKIPPER}}
    credits = {"ItemId": "aa01", "Type": "Credits", "StartTicks": 1, "EndTicks": 2}  # AnalysisMode's name, no type
    assert raw(fake, "POST", "/MediaSegmentsApi/aa01", json=credits, **post).status_code == 400
    no_mode = {**credits, "Type": "Unknown"}  # a MediaSegmentType the plugin maps to no mode
    assert raw(fake, "POST", "/MediaSegmentsApi/aa01", json=no_mode, **post).status_code == unknown
    delete = {"params": {"itemId": "aa01", "type": "credit"}}
    assert raw(fake, "DELETE", f"/MediaSegmentsApi/{'0' * 32}", **delete).status_code == unknown
    assert raw(fake, "POST", "/MediaSegmentsApi/aa01", json={**credits, "Type": 4}, **post).status_code == 200


# -- units on the wire ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fake", ["1.10.9", "1.10.10"], indirect=True)
def test_timestamps_are_sent_in_seconds(fake: FakeJellyfin) -> None:
    publisher(fake.url).push(EPISODE, of(INTRO))
    [post] = fake.calls("POST", "/Episode/aa01/Timestamps")
    assert post.body == {"Introduction": {"Start": 30.0, "End": 95.5}}


@pytest.mark.parametrize("fake", ["1.10.11-post"], indirect=True)
def test_segments_are_posted_in_ticks_under_intro_skippers_provider(fake: FakeJellyfin) -> None:
    publisher(fake.url).push(EPISODE, of(INTRO))
    [post] = fake.calls("POST", "/MediaSegmentsApi/aa01")
    assert post.arg("providerId") == INTRO_SKIPPER
    assert (post.body["Type"], post.body["StartTicks"], post.body["EndTicks"]) == ("Intro", 300_000_000, 955_000_000)


# -- the ETag protocol ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fake", ["etag"], indirect=True)
def test_the_stand_in_refuses_what_the_plugin_refuses(fake: FakeJellyfin) -> None:
    body = [{"Type": "Intro", "StartTicks": 1, "EndTicks": 2}]
    assert raw(fake, "PUT", "/MediaSegmentsApi/aa01", json=body).status_code == 428
    assert raw(fake, "PUT", "/MediaSegmentsApi/aa01", json=body, headers={"If-Match": "r0"}).status_code == 400
    etag = raw(fake, "GET", "/MediaSegmentsApi/aa01").headers["ETag"]
    assert raw(fake, "PUT", "/MediaSegmentsApi/aa01", json=body, headers={"If-Match": etag}).status_code == 200
    assert raw(fake, "PUT", "/MediaSegmentsApi/aa01", json=body, headers={"If-Match": etag}).status_code == 412
    assert raw(fake, "PUT", "/MediaSegmentsApi/nope", json=body, headers={"If-Match": etag}).status_code == 404


@pytest.mark.parametrize("fake", ["1.10.11-post"], indirect=True)
def test_the_2025_stand_in_has_no_get_or_put_per_item(fake: FakeJellyfin) -> None:
    assert raw(fake, "GET", "/MediaSegmentsApi/aa01").status_code == 405
    assert raw(fake, "PUT", "/MediaSegmentsApi/aa01", json=[], headers={"If-Match": "*"}).status_code == 405


class EditedMeanwhile(FakeJellyfin):
    """Someone adds a Recap in the segment editor right after each of our reads (`times` times)."""

    def __init__(self, times: int) -> None:
        super().__init__(KEY, ITEMS, plugin="etag")
        self.times = times

    def _api_get(self, request: Request, match: re.Match[str]) -> Reply:
        reply = super()._api_get(request, match)
        if self.times > 0:
            self.times -= 1
            self._set_type("aa01", "Recap", 0, 50_000_000)
        return reply


def test_a_stale_etag_is_read_again_and_written_once_more() -> None:
    fake = EditedMeanwhile(times=1).start()
    try:  # a target that pushes intros only: the editor's recap is not ours to judge
        result = publisher(fake.url, kinds=("intro",)).push(EPISODE, of(INTRO))
    finally:
        fake.stop()
    assert result.action is PushAction.CREATED
    assert [p.headers["If-Match"] for p in fake.calls("PUT", "/MediaSegmentsApi/aa01")] == ['"r0"', '"r1"']
    assert sorted(r.type for r in fake.store["aa01"]) == ["Intro", "Recap"]  # the editor's change kept
    assert fake.intro_of("aa01") == (30.0, 95.5)


def test_an_etag_stale_twice_is_left_to_the_retry() -> None:
    fake = EditedMeanwhile(times=5).start()
    try:
        with pytest.raises(TransientPublishError, match="changed twice"):
            publisher(fake.url).push(EPISODE, of(INTRO))
    finally:
        fake.stop()
    assert len(fake.calls("PUT", "/MediaSegmentsApi/aa01")) == 2
    assert fake.intro_of("aa01") is None


@pytest.mark.parametrize("fake", ["etag"], indirect=True)
def test_the_plugins_segments_of_kinds_not_pushed_are_put_back_as_they_were(fake: FakeJellyfin) -> None:
    fake._set_type("aa01", "Outro", 13_000_000_000, 14_000_000_000)  # its own credits detection
    outro_id = fake.store["aa01"][0].id
    publisher(fake.url, kinds=("intro",)).push(EPISODE, of(INTRO))
    [put] = fake.calls("PUT", "/MediaSegmentsApi/aa01")
    assert [s["Type"] for s in put.body] == ["Outro", "Intro"]
    assert put.body[0]["Id"] == outro_id and "Id" not in put.body[1]
    assert fake.viewer_segments("aa01") == [("Intro", 30.0, 95.5), ("Outro", 1300.0, 1400.0)]


# -- a missing plugin -----------------------------------------------------------------------------------------------
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
        assert "Intro Skipper 1.10.11.x (built for Jellyfin 10.11.11)" in (report.error or "")
        assert "https://manifest.intro-skipper.org/manifest.json" in (report.error or "")
    assert caplog.text.count("no plugin route") == 1
    assert len(fake.calls("GET", "/Plugins")) == 1  # probed once, not per push
    assert jf.route is WriteRoute.NONE


@pytest.mark.parametrize(
    ("status", "said"),
    [("Restart", "has not been restarted"), ("Disabled", "enable it"), ("NotSupported", "does not run on")],
)
def test_an_installed_plugin_that_is_not_running_says_why(status: str, said: str) -> None:
    fake = FakeJellyfin(KEY, ITEMS, plugin="etag")
    fake.plugin_status = status
    fake.start()
    try:
        with pytest.raises(PluginMissingError, match=said):
            publisher(fake.url).probe()
    finally:
        fake.stop()


@pytest.mark.parametrize("fake", list(ROUTES), indirect=True)
def test_a_plugin_removed_while_running_is_reported_as_missing(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url)
    jf.push(EPISODE, of(INTRO))
    fake.uninstall()  # the daemon still believes the route exists
    with pytest.raises(PluginMissingError, match="plugin route is gone"):
        jf.push(EPISODE, of(LATER))
    with pytest.raises(PluginMissingError, match="Intro Skipper is not installed"):
        jf.push(EPISODE, of(LATER))  # probed again


# -- plumbing -------------------------------------------------------------------------------------------------------
def test_authorization_header_is_the_mediabrowser_form(fake: FakeJellyfin) -> None:
    publisher(fake.url).push(EPISODE, of(INTRO))
    for request in fake.requests:
        assert request.headers["Authorization"].startswith("MediaBrowser ")
        assert f'Token="{KEY}"' in request.headers["Authorization"]
        assert "X-Emby-Token" not in request.headers
        assert not {"api_key", "ApiKey"} & set(request.query)


def test_episodes_are_listed_in_pages_once_then_cached(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url, page_size=4)
    jf.push(EPISODE, of(INTRO))
    jf.push(EpisodeRef(Path("/tv/Show/S01E05.mkv"), 1500.0), of(INTRO))
    starts = [r.arg("startIndex") for r in fake.calls("GET", "/Items")]
    assert starts == ["0", "4"]
    assert fake.intro_of("aa05") == (30.0, 95.5)


def test_an_item_recreated_under_a_new_id_is_found_again(fake: FakeJellyfin) -> None:
    jf = publisher(fake.url)
    jf.push(EPISODE, of(INTRO))
    fake.items[PATH] = "bb01"  # a rescan gave the file a new item
    assert jf.push(EPISODE, intro(40.0, 100.0, 0.9)).action is PushAction.CREATED
    assert fake.intro_of("bb01") == (40.0, 100.0)


def test_a_server_that_fails_the_probe_is_probed_again_at_the_next_push(fake: FakeJellyfin) -> None:
    fake.fail_next(503, path="/Plugins")
    jf = publisher(fake.url)
    with pytest.raises(TransientPublishError):
        jf.probe()
    assert jf.route is None  # unknown, not "no plugin"
    assert jf.push(EPISODE, of(INTRO)).action is PushAction.CREATED
    assert len(fake.calls("GET", "/Plugins")) == 2
