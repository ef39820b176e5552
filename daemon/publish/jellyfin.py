"""Jellyfin: the intro becomes a media segment, written through the Intro Skipper route the server really has.

Core Jellyfin (10.10 to 12) can only *read* segments (`GET /MediaSegments/{id}`: every enabled provider's), so writing
needs the plugin, whose routes differ between builds that share a version number. The probe reads the plugin's
version and status from `GET /Plugins` and its routes from the OpenAPI document, and picks:
- `GET`+`PUT /MediaSegmentsApi/{itemId}` (newest builds): the plugin's own segments with an ETag, the whole list put
  back with `If-Match` (a stale ETag, 412, is read again and tried once more); ticks;
- `POST`/`DELETE /MediaSegmentsApi/...` without PUT (2025-26 builds of 1.10.11): one segment per type, ticks;
- `POST /Episode/{id}/Timestamps` (10.9, 10.10, and any build whose PUT cannot be read first): seconds, and it
  cannot remove an intro.
`/MediaSegmentsApi` routes count only with Intro Skipper 1.10.11 or newer: on 10.10 they belong to the separate
"MediaSegments API" plugin, whose POST adds a segment each time. Only the plugin's own store is written; other
providers' segments are never sent back. Nothing is refreshed or scanned per push: the plugin puts its segments into
Jellyfin itself, and neither an item refresh nor a library scan runs segment providers.
Sources (repository path and version) are cited in tests/fakeservers/jellyfin.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, to_ticks
from daemon.publish.errors import (
    NotFoundError,
    PermanentPublishError,
    PluginMissingError,
    TransientPublishError,
)
from daemon.publish.items import mediabrowser_items
from daemon.publish.options import Kind, ServerOptions, Sources, server_options
from daemon.publish.server import ServerTarget
from detector.result import Intro

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
_NIL_ID = "0" * 32  # a segment id that matches no row (see `_post_segment`)
# The plugin series built for each Jellyfin series (intro-skipper/manifest: 10.9/, 10.10/, 10.11/, 12/).
_SERIES = {"10.9": "1.10.9.x", "10.10": "1.10.10.x", "10.11": "1.10.11.x", "12.0": "12.0.x"}

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
            "%s (Jellyfin %s, Intro Skipper %s): writing intros with %s",
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

    def push(self, episode: EpisodeRef, intro: Intro | None) -> PushResult:
        if self._route is None or (self._route is WriteRoute.NONE and self._clock() - self._probed_at >= _REPROBE_S):
            self.probe()
        elif self._route is WriteRoute.NONE:
            raise PluginMissingError(self._missing_reason)
        try:
            return self.api.run(episode, lambda item_id: self._write(item_id, intro))
        except NotFoundError as error:
            self._route = None  # probe again next time
            raise PluginMissingError(f"{error}: the item exists, so the plugin route is gone; {INSTALL_HINT}") from None

    def _write(self, item_id: str, intro: Intro | None) -> PushResult:
        if self._route is WriteRoute.SEGMENTS_PUT:
            return self._put_segments(item_id, intro)
        if self._route is WriteRoute.SEGMENTS_POST:
            return self._post_segment(item_id, intro)
        return self._post_timestamps(item_id, intro)

    # -- GET+PUT with If-Match ------------------------------------------------------------------------------------
    def _put_segments(self, item_id: str, intro: Intro | None) -> PushResult:
        """Read the plugin's own segments and their ETag, put them back with our intro in place of its intro.
        A refused PUT whose ETag has moved on was a 412 (someone else wrote in between): decide again from what
        is there now, once; twice in a row is left to the queue's retry."""
        etag, current = self._read_plugin_segments(item_id)
        for attempt in range(2):
            plan = _plan(item_id, current, intro)
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
            f"{self.api.http.label}: item {item_id}'s segments changed twice while the intro was written; "
            "it is written again later"
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
    def _post_segment(self, item_id: str, intro: Intro | None) -> PushResult:
        """These builds keep one segment per item and type, so a POST replaces the plugin's intro. DELETE needs the
        id of the row in Jellyfin: the Intro there whose times are the plugin's. When Jellyfin has none (not put
        there yet), the nil id deletes no row there and still removes the plugin's own."""
        current = self._plugin_intro(item_id)
        if intro is None:
            if current is None:
                return PushResult(self.name, PushAction.UNCHANGED, "no intro")
            segment_id = self._jellyfin_row_of(item_id, current) or _NIL_ID
            params = {"itemId": item_id, "type": "Intro"}
            self.api.http.request("DELETE", f"/MediaSegmentsApi/{segment_id}", params=params)
            return PushResult(self.name, PushAction.REMOVED, f"item {item_id}")
        if current is not None and _close(current[0], intro.start_s) and _close(current[1], intro.end_s):
            return PushResult(self.name, PushAction.UNCHANGED, f"item {item_id}")
        body = {
            "ItemId": item_id,
            "Type": "Intro",
            "StartTicks": to_ticks(intro.start_s),
            "EndTicks": to_ticks(intro.end_s),
        }
        self.api.http.request("POST", f"/MediaSegmentsApi/{item_id}", params={"providerId": PLUGIN_NAME}, json=body)
        action = PushAction.REPLACED if current is not None else PushAction.CREATED
        return PushResult(self.name, action, f"item {item_id}")

    def _jellyfin_row_of(self, item_id: str, intro_s: tuple[float, float]) -> str | None:
        params = {"includeSegmentTypes": "Intro"}
        rows = (self.api.http.get(f"/MediaSegments/{item_id}", params=params) or {}).get("Items") or []
        wanted = {"StartTicks": to_ticks(intro_s[0]), "EndTicks": to_ticks(intro_s[1])}
        return next((str(r["Id"]) for r in rows if _is_intro(r) and "Id" in r and _same_ticks(r, wanted)), None)

    # -- Timestamps -----------------------------------------------------------------------------------------------
    def _plugin_intro(self, item_id: str) -> tuple[float, float] | None:
        """The plugin's intro in seconds (`GET /Episode/{id}/Timestamps`: zeros when there is none)."""
        try:
            current = (self.api.http.get(f"/Episode/{item_id}/Timestamps") or {}).get("Introduction") or {}
        except NotFoundError:
            current = {}  # some versions answer 404 when the episode has no segment yet
        if float(current.get("End") or 0) <= 0:
            return None
        return float(current.get("Start") or 0), float(current["End"])

    def _post_timestamps(self, item_id: str, intro: Intro | None) -> PushResult:
        current = self._plugin_intro(item_id)
        if intro is None:
            if current is None:
                return PushResult(self.name, PushAction.UNCHANGED, "no intro")
            return PushResult(
                self.name,
                PushAction.SKIPPED,
                "this Intro Skipper's Timestamps route cannot remove an intro (it applies only End > 0), and its "
                "erase route clears every episode; erase it in the plugin's timestamp editor, or update the plugin",
            )
        if current is not None and _close(current[0], intro.start_s) and _close(current[1], intro.end_s):
            return PushResult(self.name, PushAction.UNCHANGED, f"item {item_id}")
        body = {"Introduction": {"Start": intro.start_s, "End": intro.end_s}}
        self.api.http.request("POST", f"/Episode/{item_id}/Timestamps", json=body)
        return PushResult(self.name, PushAction.REPLACED if current else PushAction.CREATED, f"item {item_id}")

    def _missing(self, server: str, problem: str) -> str:
        series = _SERIES.get(".".join(server.split(".")[:2]))
        which = f"Intro Skipper {series} (built for Jellyfin {server})" if series else "Intro Skipper"
        return (
            f"{self.api.http.label}: no plugin route to write intros ({problem}); install {which} from "
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


def _plan(item_id: str, current: list[dict[str, Any]], intro: Intro | None) -> _Plan | None:
    """The plugin's segments with our intro in place of its intros; None when that is what it has already."""
    intros = [s for s in current if _is_intro(s)]
    others = [_segment_dto(s) for s in current if not _is_intro(s)]  # its credits, recaps, ...: kept as they are
    if intro is None:
        return _Plan(others, PushAction.REMOVED) if intros else None
    wanted = {
        "ItemId": item_id,
        "Type": "Intro",
        "StartTicks": to_ticks(intro.start_s),
        "EndTicks": to_ticks(intro.end_s),
    }
    if len(intros) == 1 and _same_ticks(intros[0], wanted):
        return None
    return _Plan([*others, wanted], PushAction.REPLACED if intros else PushAction.CREATED)


def _detail(item_id: str, response: requests.Response) -> str:
    if response.status_code == 202:  # stored by the plugin; its projection into Jellyfin is pending
        return f"item {item_id} (Jellyfin shows it once Intro Skipper has applied it)"
    return f"item {item_id}"


def _is_intro(segment: dict[str, Any]) -> bool:
    return segment.get("Type") in ("Intro", 5)  # serialised as a string; the enum value accepted too


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
