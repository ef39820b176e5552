"""Jellyfin: the intro becomes a media segment, written through the plugin route the server really has.

Core Jellyfin (10.10 to 12) can only *read* segments (`GET /MediaSegments/{id}`), so writing needs a plugin:
- Intro Skipper >= 1.10.11: `PUT /MediaSegmentsApi/{itemId}` replaces the item's whole segment set (ticks);
- Intro Skipper 1.10.10 (and 10.9): `POST /Episode/{id}/Timestamps` (seconds; it cannot remove an intro).
Which one exists is read from the server's OpenAPI document at start. See docs: media-server-apis.md, 1.4-1.7.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, to_ticks
from daemon.publish.errors import NotFoundError, PermanentPublishError, PluginMissingError
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

INSTALL_HINT = (
    "install the Intro Skipper plugin (Dashboard > Plugins > Repositories: "
    "https://manifest.intro-skipper.org/manifest.json; version 1.10.11 or newer on Jellyfin 10.11, "
    "1.10.10.x on 10.10) and restart Jellyfin, or use a `matroska` target with `refresh_jellyfin` and the "
    "official Chapter Segments Provider plugin"
)


@dataclass(frozen=True)
class JellyfinOptions:
    server: ServerOptions
    # False: this target only serves a matroska target's `refresh_jellyfin` (no plugin needed).
    write_segments: bool = True


def _parse(table: Table, sources: Sources) -> JellyfinOptions:
    return JellyfinOptions(server_options(table, sources), write_segments=table.boolean("write_segments", True))


class WriteRoute(StrEnum):
    SEGMENTS_PUT = "PUT /MediaSegmentsApi/{itemId}"
    TIMESTAMPS_POST = "POST /Episode/{id}/Timestamps"
    NONE = "none"


def _template(path: str) -> str:
    """`/Episode/{Id}/Timestamps` -> `/episode/{}/timestamps`: names and case vary between versions."""
    return re.sub(r"\{[^}]*\}", "{}", path).lower()


def choose_route(openapi: dict[str, Any]) -> WriteRoute:
    paths = {_template(path): {m.lower() for m in ops} for path, ops in (openapi.get("paths") or {}).items()}
    if "put" in paths.get("/mediasegmentsapi/{}", set()):
        return WriteRoute.SEGMENTS_PUT
    if "post" in paths.get("/episode/{}/timestamps", set()):
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
        self._probed_at = 0.0

    @property
    def route(self) -> WriteRoute | None:
        return self._route

    def probe(self) -> None:
        """Find the write route; raises `PluginMissingError` (the same text each time, so the service says it
        once) when the server has none."""
        info = self.api.http.get("/System/Info")  # checks the key too: 401 here is an AuthError
        try:
            openapi = self.api.http.get("/api-docs/openapi.json")
        except NotFoundError:
            openapi = {}
        self._route = choose_route(openapi or {})
        self._probed_at = self._clock()
        if self._route is WriteRoute.NONE:
            raise PluginMissingError(self._missing())
        log.info("%s (Jellyfin %s): writing intros with %s", self.api.http.label, info.get("Version"), self._route)

    def push(self, episode: EpisodeRef, intro: Intro | None) -> PushResult:
        if self._route is None or (self._route is WriteRoute.NONE and self._clock() - self._probed_at >= _REPROBE_S):
            self.probe()
        elif self._route is WriteRoute.NONE:
            raise PluginMissingError(self._missing())
        try:
            return self.api.run(episode, lambda item_id: self._write(item_id, intro))
        except NotFoundError as error:
            self._route = None  # probe again next time
            raise PluginMissingError(f"{error}: the item exists, so the plugin route is gone; {INSTALL_HINT}") from None

    def _write(self, item_id: str, intro: Intro | None) -> PushResult:
        if self._route is WriteRoute.SEGMENTS_PUT:
            return self._put_segments(item_id, intro)
        return self._post_timestamps(item_id, intro)

    def _put_segments(self, item_id: str, intro: Intro | None) -> PushResult:
        existing = (self.api.http.get(f"/MediaSegments/{item_id}") or {}).get("Items") or []
        intros = [s for s in existing if _is_intro(s)]
        others = [s for s in existing if not _is_intro(s)]  # credits, recaps, ... from elsewhere: kept as they are
        if intro is None:
            if not intros:
                return PushResult(self.name, PushAction.UNCHANGED, "no intro segment")
            wanted: list[dict[str, Any]] = []
        else:
            wanted = [
                {
                    "ItemId": item_id,
                    "Type": "Intro",
                    "StartTicks": to_ticks(intro.start_s),
                    "EndTicks": to_ticks(intro.end_s),
                }
            ]
            if len(intros) == 1 and _same_ticks(intros[0], wanted[0]):
                return PushResult(self.name, PushAction.UNCHANGED, f"item {item_id}")
        body = [_segment_dto(s) for s in others] + wanted
        self.api.http.request("PUT", f"/MediaSegmentsApi/{item_id}", json=body)
        action = PushAction.REMOVED if intro is None else PushAction.REPLACED if intros else PushAction.CREATED
        return PushResult(self.name, action, f"item {item_id}")

    def _post_timestamps(self, item_id: str, intro: Intro | None) -> PushResult:
        try:
            current = (self.api.http.get(f"/Episode/{item_id}/Timestamps") or {}).get("Introduction") or {}
        except NotFoundError:
            current = {}  # some versions answer 404 when the episode has no segment yet
        had_intro = float(current.get("End") or 0) > 0
        if intro is None:
            if not had_intro:
                return PushResult(self.name, PushAction.UNCHANGED, "no intro")
            return PushResult(
                self.name,
                PushAction.SKIPPED,
                "Intro Skipper's Timestamps route cannot remove an intro; erase it in the plugin if wrong",
            )
        if had_intro and _close(current.get("Start"), intro.start_s) and _close(current.get("End"), intro.end_s):
            return PushResult(self.name, PushAction.UNCHANGED, f"item {item_id}")
        body = {"Introduction": {"Start": intro.start_s, "End": intro.end_s}}
        self.api.http.request("POST", f"/Episode/{item_id}/Timestamps", json=body)
        return PushResult(self.name, PushAction.REPLACED if had_intro else PushAction.CREATED, f"item {item_id}")

    def _missing(self) -> str:
        return f"{self.api.http.label}: no plugin route to write intros; {INSTALL_HINT}"


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
