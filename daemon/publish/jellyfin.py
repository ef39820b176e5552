"""Jellyfin: each segment becomes a media segment of its type (recap: Recap, intro: Intro, credits: Outro, preview:
Preview; MediaSegmentType), written through the Intro Skipper route the server really has. Jellyfin has no "final"
on an Outro.

Core Jellyfin (10.10 to 12) can only *read* segments (`GET /MediaSegments/{id}`: every enabled provider's), so writing
needs the plugin, whose routes differ between builds that share a version number. The probe reads the plugin's
version and status from `GET /Plugins` and its routes from the OpenAPI document, and picks:
- `GET`+`PUT /MediaSegmentsApi/{itemId}` (newest builds): the plugin's own segments with an ETag, the whole list put
  back with `If-Match` (a stale ETag, 412, is read again and tried once more); ticks;
- `POST`/`DELETE /MediaSegmentsApi/...` without PUT (2025-26 builds of 1.10.11): one segment per type, ticks;
- `POST /Episode/{id}/Timestamps` (10.9, 10.10, and any build whose PUT cannot be read first): seconds, one per
  AnalysisMode the build has (its GET answers those: Introduction and Credits on 10.9, Recap and Preview too on
  10.10), and it cannot remove a segment.
The plugin's store holds its own detections and ours alike, under one provider: for each kind this target pushes,
the store's segments of that type are replaced by ours (none when the set has none); the types of kinds it does not
push are left as the plugin has them.
`/MediaSegmentsApi` routes count only with Intro Skipper 1.10.11 or newer: on 10.10 they belong to the separate
"MediaSegments API" plugin, whose POST adds a segment each time. Only the plugin's own store is written; other
providers' segments are never sent back. Nothing is refreshed or scanned per push: the plugin puts its segments into
Jellyfin itself, and neither an item refresh nor a library scan runs segment providers.
Sources (repository path and version) are cited in tests/fakeservers/jellyfin.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, outcome, pushed, single, to_ticks
from daemon.publish.errors import (
    NotFoundError,
    PermanentPublishError,
    PluginMissingError,
    TransientPublishError,
)
from daemon.publish.items import mediabrowser_items
from daemon.publish.options import Kind, ServerOptions, Sources, server_options
from daemon.publish.server import ServerTarget
from detector.result import SEGMENT_KINDS, Segment

log = logging.getLogger(__name__)


CLIENT = "intro-daemon"
VERSION = "0.1.0"
SEGMENT_TASK_KEY = "TaskExtractMediaSegments"  # "Media Segment Scan"
_TICK_TOLERANCE = 10_000  # 1 ms: what survives a seconds <-> ticks round trip counts as equal
_REPROBE_S = 600.0  # when no plugin was found, look again this often (installing one means a server restart)

PLUGIN_NAME = "Intro Skipper"  # also the name of its segment provider
PLUGIN_ID = "c83d86bba1e04c35a113e2101cf4ee6b"  # its manifest guid, as Jellyfin writes a Guid ("N")
MANIFEST = "https://manifest.intro-skipper.org/manifest.json"
_SEGMENTS_API_FROM = (1, 10, 11)  # Intro Skipper's first version with /MediaSegmentsApi
_NIL_ID = "0" * 32  # a segment id that matches no row (see `_post_segments`)
# The plugin series built for each Jellyfin series (intro-skipper/manifest: 10.9/, 10.10/, 10.11/, 12/).
_SERIES = {"10.9": "1.10.9.x", "10.10": "1.10.10.x", "10.11": "1.10.11.x", "12.0": "12.0.x"}

# Our kinds as Jellyfin's MediaSegmentType (by name, and the number it serialises to), as Intro Skipper's
# AnalysisMode (the Timestamps route's keys) and as its DELETE route's `type` (IntroSkipper/Data/AnalysisHelpers.cs
# at 26d455f; SegmentEditorController.cs at c6f4a1d: "intro", "recap", "preview", "outro" or "credits").
SEGMENT_TYPE = {"recap": "Recap", "intro": "Intro", "credits": "Outro", "preview": "Preview"}
_TYPE_NUMBERS = {1: "Commercial", 2: "Preview", 3: "Recap", 4: "Outro", 5: "Intro"}  # Jellyfin's MediaSegmentType
ANALYSIS_MODE = {"recap": "Recap", "intro": "Introduction", "credits": "Credits", "preview": "Preview"}
_DELETE_TYPE = {"recap": "recap", "intro": "intro", "credits": "outro", "preview": "preview"}

INSTALL_HINT = (
    f"install the Intro Skipper plugin (Dashboard > Plugins > Repositories: {MANIFEST}; the version built for your "
    "Jellyfin: 1.10.10.x on 10.10, 1.10.11.x on 10.11, 12.0.x on 12.0) and restart Jellyfin, or use a `matroska` "
    "target with `refresh_jellyfin` and the official Chapter Segments Provider plugin"
)


@dataclass(frozen=True)
class JellyfinOptions:
    server: ServerOptions
    # False: this target only serves a matroska target's `refresh_jellyfin` (no plugin needed).
    write_segments: bool = True
    kinds: tuple[str, ...] = SEGMENT_KINDS


def _parse(table: Table, sources: Sources) -> JellyfinOptions:
    return JellyfinOptions(server_options(table, sources), write_segments=table.boolean("write_segments", True))


class WriteRoute(StrEnum):
    SEGMENTS_PUT = "GET+PUT /MediaSegmentsApi/{itemId} with If-Match"
    SEGMENTS_POST = "POST/DELETE /MediaSegmentsApi"
    TIMESTAMPS_POST = "POST /Episode/{id}/Timestamps"
    NONE = "none"


@dataclass(frozen=True)
class Plugin:
    """Intro Skipper as `GET /Plugins` lists it."""

    version: str
    status: str  # PluginStatus: Active, Restart, Disabled, NotSupported, Malfunctioned, Superseded, Deleted

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", self.version))


def find_plugin(plugins: Sequence[dict[str, Any]]) -> Plugin | None:
    """Intro Skipper's entry; of several (an old version superseded by a newer one), the active one."""
    mine = [
        Plugin(str(p.get("Version") or "?"), str(p.get("Status") or "Active"))
        for p in plugins
        if str(p.get("Id") or "").replace("-", "").lower() == PLUGIN_ID or p.get("Name") == PLUGIN_NAME
    ]
    mine.sort(key=lambda p: p.status != "Active")
    return mine[0] if mine else None


def _template(path: str) -> str:
    """`/Episode/{Id}/Timestamps` -> `/episode/{}/timestamps`: names and case vary between versions."""
    return re.sub(r"\{[^}]*\}", "{}", path).lower()


def _routes(openapi: dict[str, Any]) -> dict[str, set[str]]:
    """Path template -> methods; merged, since one path can be listed twice under different parameter names
    (`/MediaSegmentsApi/{itemId}` and `/MediaSegmentsApi/{segmentId}`)."""
    routes: dict[str, set[str]] = {}
    for path, ops in (openapi.get("paths") or {}).items():
        routes.setdefault(_template(path), set()).update(m.lower() for m in ops or {})
    return routes


def choose_route(openapi: dict[str, Any], plugin: Plugin | None = None) -> WriteRoute:
    """The route for this plugin version and these routes. Without a version (no `/Plugins` answer) the
    `/MediaSegmentsApi` routes are taken to be Intro Skipper's."""
    routes = _routes(openapi)
    segments_api = routes.get("/mediasegmentsapi/{}", set())
    ours = plugin is None or plugin.version_tuple >= _SEGMENTS_API_FROM
    if ours and {"get", "put"} <= segments_api:
        return WriteRoute.SEGMENTS_PUT
    if ours and {"post", "delete"} <= segments_api and "put" not in segments_api:
        return WriteRoute.SEGMENTS_POST
    # A build with PUT but no GET gives no ETag and no way to read its own set first; its Timestamps route does.
    if "post" in routes.get("/episode/{}/timestamps", set()):
        return WriteRoute.TIMESTAMPS_POST
    return WriteRoute.NONE


class JellyfinApi(ServerTarget[JellyfinOptions]):
    """The routes every Jellyfin publisher needs: auth, finding an item by path, refresh, scheduled tasks."""

    kind = "jellyfin"

    def _headers(self) -> dict[str, str]:
        key = self.options.server.secret.reveal()
        # The only form accepted by every version; legacy X-Emby-Token is off by default from 12.0.
        return {"Authorization": f'MediaBrowser Client="{CLIENT}", Version="{VERSION}", Token="{key}"'}

    def refresh_item(self, item_id: str) -> None:
        """Re-probe the file (chapters included): FullRefresh, without touching images or metadata."""
        self.http.request(
            "POST",
            f"/Items/{item_id}/Refresh",
            params={
                "metadataRefreshMode": "FullRefresh",
                "imageRefreshMode": "None",
                "replaceAllMetadata": "false",
                "replaceAllImages": "false",
                "regenerateTrickplay": "false",
            },
        )

    def run_segment_scan(self) -> None:
        tasks = self.http.get("/ScheduledTasks") or []
        for task in tasks:
            if task.get("Key") == SEGMENT_TASK_KEY:
                self.http.request("POST", f"/ScheduledTasks/Running/{task['Id']}")
                return
        raise PermanentPublishError(f"{self.http.label}: no '{SEGMENT_TASK_KEY}' task (Jellyfin 10.10 or newer?)")

    def _list_episodes(self) -> Iterator[tuple[str, str]]:
        params = {"recursive": "true", "includeItemTypes": "Episode", "fields": "Path"}
        pages = mediabrowser_items(self.http, "/Items", params, ("startIndex", "limit"), self.options.server.page_size)
        for item in pages:
            yield item.get("Path") or "", item["Id"]


class JellyfinPublisher:
    kind = "jellyfin"

    def __init__(self, name: str, options: JellyfinOptions, **connection: Any) -> None:
        """`connection`: `session` and `clock`, as for every `ServerTarget`."""
        self.name = name
        self.kinds = options.kinds
        self.api = JellyfinApi(name, options, **connection)
        self._clock = self.api.clock
        self._route: WriteRoute | None = None
        self._missing_reason = ""  # why there is no route, said the same way each time
        self._probed_at = 0.0

    @property
    def route(self) -> WriteRoute | None:
        return self._route

    def probe(self) -> None:
        """Find the write route; raises `PluginMissingError` (the same text each time, so the service says it
        once) when the server has none. A server that does not answer leaves the route unknown, to probe again."""
        info = self.api.http.get("/System/Info") or {}  # checks the key too: 401 here is an AuthError
        server = str(info.get("Version") or "?")
        try:
            plugin, self._route = self._find_route(server)
        except PluginMissingError as error:
            self._route, self._missing_reason, self._probed_at = WriteRoute.NONE, str(error), self._clock()
            raise
        log.info(
            "%s (Jellyfin %s, Intro Skipper %s): writing segments with %s",
            self.api.http.label,
            server,
            plugin.version if plugin else "?",
            self._route,
        )

    def _find_route(self, server: str) -> tuple[Plugin | None, WriteRoute]:
        try:
            plugin = find_plugin(self.api.http.get("/Plugins") or [])
            listed = True
        except NotFoundError:
            plugin, listed = None, False  # no plugin list: go by the routes alone
        if listed and plugin is None:
            raise PluginMissingError(self._missing(server, "Intro Skipper is not installed"))
        if plugin is not None and plugin.status != "Active":
            raise PluginMissingError(self._missing(server, _status_problem(plugin, server)))
        try:
            openapi = self.api.http.get("/api-docs/openapi.json") or {}
        except NotFoundError:
            openapi = {"paths": {"/Episode/{Id}/Timestamps": {"post": {}}}}  # the one route every version has
        route = choose_route(openapi, plugin)
        if route is WriteRoute.NONE:
            version = plugin.version if plugin else "?"
            raise PluginMissingError(self._missing(server, f"Intro Skipper {version} lists none of its write routes"))
        return plugin, route

    def push(self, episode: EpisodeRef, segments: Iterable[Segment]) -> PushResult:
        if self._route is None or (self._route is WriteRoute.NONE and self._clock() - self._probed_at >= _REPROBE_S):
            self.probe()
        elif self._route is WriteRoute.NONE:
            raise PluginMissingError(self._missing_reason)
        wanted = pushed(segments, self.kinds)
        try:
            return self.api.run(episode, lambda item_id: self._write(item_id, wanted))
        except NotFoundError as error:
            self._route = None  # probe again next time
            raise PluginMissingError(f"{error}: the item exists, so the plugin route is gone; {INSTALL_HINT}") from None

    def _write(self, item_id: str, segments: tuple[Segment, ...]) -> PushResult:
        if self._route is WriteRoute.SEGMENTS_PUT:
            return self._put_segments(item_id, segments)
        if self._route is WriteRoute.SEGMENTS_POST:
            return self._post_segments(item_id, segments)
        return self._post_timestamps(item_id, segments)

    # -- GET+PUT with If-Match ------------------------------------------------------------------------------------
    def _put_segments(self, item_id: str, segments: tuple[Segment, ...]) -> PushResult:
        """Read the plugin's own segments and their ETag, put them back with ours in place of its segments of our
        kinds' types. A refused PUT whose ETag has moved on was a 412 (someone else wrote in between): decide again
        from what is there now, once; twice in a row is left to the queue's retry."""
        etag, current = self._read_plugin_segments(item_id)
        for attempt in range(2):
            plan = _plan(item_id, current, segments, {SEGMENT_TYPE[k] for k in self.kinds})
            if plan is None:
                return PushResult(self.name, PushAction.UNCHANGED, f"item {item_id}")
            try:
                response = self.api.http.request(
                    "PUT", f"/MediaSegmentsApi/{item_id}", json=plan.body, headers={"If-Match": etag}
                )
            except PermanentPublishError:
                fresh_etag, current = self._read_plugin_segments(item_id)
                if fresh_etag == etag:
                    raise  # not a stale ETag: the PUT itself was refused
                etag = fresh_etag
                log.info("%s: item %s changed while writing (attempt %d); read again", self.name, item_id, attempt + 1)
                continue
            return PushResult(self.name, plan.action, _detail(item_id, response))
        raise TransientPublishError(
            f"{self.api.http.label}: item {item_id}'s segments changed twice while ours were written; "
            "they are written again later"
        )

    def _read_plugin_segments(self, item_id: str) -> tuple[str, list[dict[str, Any]]]:
        response = self.api.http.request("GET", f"/MediaSegmentsApi/{item_id}", headers={"Accept": "application/json"})
        try:
            segments = response.json() if response.content else []
        except ValueError:
            raise PermanentPublishError(
                f"{self.api.http.label}: GET /MediaSegmentsApi/{item_id}: expected a JSON list of segments"
            ) from None
        if isinstance(segments, dict):  # a QueryResult, should a build wrap it
            segments = segments.get("Items") or []
        # No ETag would be a build that does not check it either; "*" is If-Match's "whatever is there".
        return response.headers.get("ETag") or "*", [s for s in segments if isinstance(s, dict)]

    # -- POST/DELETE ----------------------------------------------------------------------------------------------
    def _post_segments(self, item_id: str, segments: tuple[Segment, ...]) -> PushResult:
        """These builds keep one segment per item and type, so a POST replaces the plugin's segment of that type.
        DELETE needs the id of the row in Jellyfin: the one of that type whose times are the plugin's. When
        Jellyfin has none (not put there yet), the nil id deletes no row there and still removes the plugin's own."""
        current = self._plugin_times(item_id)
        before, changed = False, False
        for kind in self.kinds:
            have = current.get(ANALYSIS_MODE[kind])
            want = single(segments, kind)
            before = before or have is not None
            if want is None:
                if have is not None:
                    segment_id = self._jellyfin_row_of(item_id, SEGMENT_TYPE[kind], have) or _NIL_ID
                    params = {"itemId": item_id, "type": _DELETE_TYPE[kind]}
                    self.api.http.request("DELETE", f"/MediaSegmentsApi/{segment_id}", params=params)
                    changed = True
                continue
            if have is not None and _close(have[0], want.start_s) and _close(have[1], want.end_s):
                continue
            body = {
                "ItemId": item_id,
                "Type": SEGMENT_TYPE[kind],
                "StartTicks": to_ticks(want.start_s),
                "EndTicks": to_ticks(want.end_s),
            }
            params = {"providerId": PLUGIN_NAME}
            self.api.http.request("POST", f"/MediaSegmentsApi/{item_id}", params=params, json=body)
            changed = True
        if not changed:
            return PushResult(self.name, PushAction.UNCHANGED, f"item {item_id}")
        return PushResult(self.name, outcome(before, bool(segments)), f"item {item_id}")

    def _jellyfin_row_of(self, item_id: str, type_: str, times: tuple[float, float]) -> str | None:
        params = {"includeSegmentTypes": type_}
        rows = (self.api.http.get(f"/MediaSegments/{item_id}", params=params) or {}).get("Items") or []
        wanted = {"StartTicks": to_ticks(times[0]), "EndTicks": to_ticks(times[1])}
        return next((str(r["Id"]) for r in rows if _type_of(r) == type_ and "Id" in r and _same_ticks(r, wanted)), None)

    # -- Timestamps -----------------------------------------------------------------------------------------------
    def _plugin_times(self, item_id: str) -> dict[str, tuple[float, float] | None]:
        """The plugin's segments in seconds by AnalysisMode, as `GET /Episode/{id}/Timestamps` gives them: a mode
        the build has with None when it holds none of it (zeros), and no key for a mode the build lacks."""
        try:
            answer = self.api.http.get(f"/Episode/{item_id}/Timestamps") or {}
        except NotFoundError:
            answer = {"Introduction": {}, "Credits": {}}  # some versions answer 404 for an episode without segments
        times: dict[str, tuple[float, float] | None] = {}
        for mode, value in answer.items():
            value = value if isinstance(value, dict) else {}
            end = float(value.get("End") or 0)
            times[mode] = (float(value.get("Start") or 0), end) if end > 0 else None
        return times

    def _post_timestamps(self, item_id: str, segments: tuple[Segment, ...]) -> PushResult:
        """One POST with every mode that changes. What this route cannot do is said, not hidden: a segment of a
        mode the build lacks, and taking a segment away (it applies only End > 0; its erase route clears every
        episode)."""
        current = self._plugin_times(item_id)
        body: dict[str, dict[str, float]] = {}
        cannot_take: list[str] = []
        cannot_remove: list[str] = []
        before = False
        for kind in self.kinds:
            mode = ANALYSIS_MODE[kind]
            want = single(segments, kind)
            if mode not in current:
                if want is not None:
                    cannot_take.append(kind)
                continue
            have = current[mode]
            before = before or have is not None
            if want is None:
                if have is not None:
                    cannot_remove.append(kind)
            elif have is None or not (_close(have[0], want.start_s) and _close(have[1], want.end_s)):
                body[mode] = {"Start": want.start_s, "End": want.end_s}
        notes = []
        if cannot_take:
            notes.append(f"this Intro Skipper has no {' or '.join(cannot_take)} (a newer build does)")
        if cannot_remove:
            notes.append(
                f"this Intro Skipper's Timestamps route cannot remove a segment (it applies only End > 0), and its "
                f"erase route clears every episode: erase the {' and '.join(cannot_remove)} in the plugin's timestamp "
                "editor, or update the plugin"
            )
        detail = "; ".join([f"item {item_id}", *notes])
        if body:
            self.api.http.request("POST", f"/Episode/{item_id}/Timestamps", json=body)
            return PushResult(self.name, outcome(before, True), detail)
        if cannot_remove:
            return PushResult(self.name, PushAction.SKIPPED, detail)
        return PushResult(self.name, PushAction.UNCHANGED, detail)

    def _missing(self, server: str, problem: str) -> str:
        series = _SERIES.get(".".join(server.split(".")[:2]))
        which = f"Intro Skipper {series} (built for Jellyfin {server})" if series else "Intro Skipper"
        return (
            f"{self.api.http.label}: no plugin route to write segments ({problem}); install {which} from "
            f"Dashboard > Plugins > Repositories: {MANIFEST}, and restart Jellyfin; or use a `matroska` target "
            "with `refresh_jellyfin` and the official Chapter Segments Provider plugin"
        )


def _status_problem(plugin: Plugin, server: str) -> str:
    """What a person does about a plugin that is installed but not running."""
    if plugin.status == "Restart":
        return f"Intro Skipper {plugin.version} is installed but Jellyfin has not been restarted since"
    if plugin.status == "Disabled":
        return f"Intro Skipper {plugin.version} is disabled: enable it in Dashboard > Plugins"
    return f"Intro Skipper {plugin.version} does not run on Jellyfin {server} (status {plugin.status})"


@dataclass(frozen=True)
class _Plan:
    body: list[dict[str, Any]]  # the plugin's complete new segment list
    action: PushAction


def _plan(item_id: str, current: list[dict[str, Any]], segments: Sequence[Segment], types: set[str]) -> _Plan | None:
    """The plugin's segments with ours in place of its segments of `types` (our kinds'); None when that is what
    it has already."""
    mine = [s for s in current if _type_of(s) in types]
    others = [_segment_dto(s) for s in current if _type_of(s) not in types]  # kept as they are
    wanted = [
        {
            "ItemId": item_id,
            "Type": SEGMENT_TYPE[s.kind],
            "StartTicks": to_ticks(s.start_s),
            "EndTicks": to_ticks(s.end_s),
        }
        for s in segments
    ]
    if _same_set(mine, wanted):
        return None
    return _Plan([*others, *wanted], outcome(bool(mine), bool(wanted)))


def _same_set(have: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> bool:
    """The same segments, type for type, to the millisecond, whatever their order."""
    if len(have) != len(wanted):
        return False
    left = sorted(have, key=lambda s: (str(_type_of(s)), int(s.get("StartTicks", -1))))
    right = sorted(wanted, key=lambda s: (s["Type"], s["StartTicks"]))
    return all(_type_of(a) == b["Type"] and _same_ticks(a, b) for a, b in zip(left, right, strict=True))


def _detail(item_id: str, response: requests.Response) -> str:
    if response.status_code == 202:  # stored by the plugin; its projection into Jellyfin is pending
        return f"item {item_id} (Jellyfin shows it once Intro Skipper has applied it)"
    return f"item {item_id}"


def _type_of(segment: dict[str, Any]) -> str | None:
    """The segment's MediaSegmentType by name: serialised as a string; the enum's number accepted too."""
    value = segment.get("Type")
    return _TYPE_NUMBERS.get(value) if isinstance(value, int) else value if isinstance(value, str) else None


def _same_ticks(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        abs(int(a.get("StartTicks", -1)) - b["StartTicks"]) <= _TICK_TOLERANCE
        and abs(int(a.get("EndTicks", -1)) - b["EndTicks"]) <= _TICK_TOLERANCE
    )


def _segment_dto(segment: dict[str, Any]) -> dict[str, Any]:
    return {key: segment[key] for key in ("Id", "ItemId", "Type", "StartTicks", "EndTicks") if key in segment}


def _close(value: Any, seconds: float) -> bool:
    return value is not None and abs(float(value) - seconds) <= 0.001


KIND = Kind(
    parse=_parse,
    build=lambda name, options, wiring: JellyfinPublisher(name, options, session=wiring.new_session()),
    pushes=lambda options: options.write_segments,
)
