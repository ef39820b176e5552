"""Jellyfin 10.11 with, optionally, Intro Skipper's write routes.

plugin="segments": Intro Skipper 1.10.11 (`PUT /MediaSegmentsApi/{itemId}` replaces the item's set, ticks);
plugin="timestamps": Intro Skipper 1.10.10 (`POST /Episode/{Id}/Timestamps`, seconds, End > 0 applied);
plugin=None: core only (segments are read-only).
Auth: `Authorization: MediaBrowser ... Token="<key>"` only (legacy headers are off by default from 12.0).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.fakeservers.base import FakeServer, Reply, Request, handles

SEGMENT_TYPES = ("Commercial", "Preview", "Recap", "Outro", "Intro")
_TOKEN = re.compile(r'^MediaBrowser\s.*\bToken="([^"]*)"')


class FakeJellyfin(FakeServer):
    def __init__(self, api_key: str, items: dict[str, str], plugin: str | None = "segments") -> None:
        super().__init__()
        self.api_key = api_key
        self.items = dict(items)  # server path -> item id
        self.plugin = plugin
        self.segments: dict[str, list[dict[str, Any]]] = {}  # item id -> MediaSegmentDto list
        self.timestamps: dict[str, dict[str, Any]] = {}  # item id -> Intro Skipper TimeStamps
        self.task_id = "a1b2c3"

    def authorised(self, request: Request) -> bool:
        match = _TOKEN.match(request.headers.get("Authorization", ""))
        return bool(match) and match.group(1) == self.api_key

    def intro_of(self, item_id: str) -> tuple[float, float] | None:
        """The intro as a client would see it, in seconds, whichever plugin stored it."""
        if self.plugin == "timestamps":
            intro = self.timestamps.get(item_id, {}).get("Introduction")
            return (intro["Start"], intro["End"]) if intro else None
        intros = [s for s in self.segments.get(item_id, []) if s["Type"] == "Intro"]
        assert len(intros) <= 1, f"duplicated intro segments: {intros}"
        return (intros[0]["StartTicks"] / 1e7, intros[0]["EndTicks"] / 1e7) if intros else None

    def _known(self, item_id: str) -> bool:
        return item_id in self.items.values()

    @handles("GET", r"/System/Info")
    def _info(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(body={"Version": "10.11.5", "Id": "srv"})

    @handles("GET", r"/ScheduledTasks")
    def _tasks(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(
            body=[{"Id": "x9", "Key": "RefreshLibrary"}, {"Id": self.task_id, "Key": "TaskExtractMediaSegments"}]
        )

    @handles("POST", r"/ScheduledTasks/Running/([^/]+)")
    def _run_task(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(204)

    @handles("GET", r"/api-docs/openapi\.json")
    def _openapi(self, request: Request, match: re.Match[str]) -> Reply:
        paths: dict[str, Any] = {"/Items": {"get": {}}, "/MediaSegments/{itemId}": {"get": {}}}
        if self.plugin == "segments":
            paths["/MediaSegmentsApi"] = {"get": {}}
            paths["/MediaSegmentsApi/{itemId}"] = {"post": {}, "put": {}}
            paths["/Episode/{itemId}/Segments"] = {"get": {}, "post": {}}
        if self.plugin in ("segments", "timestamps"):
            paths["/Episode/{Id}/Timestamps"] = {"get": {}, "post": {}}
        return Reply(body={"openapi": "3.0.1", "paths": paths})

    @handles("GET", r"/Items")
    def _items(self, request: Request, match: re.Match[str]) -> Reply:
        assert request.arg("includeItemTypes") == "Episode" and request.arg("fields") == "Path"
        start, limit = int(request.arg("startIndex", "0") or 0), int(request.arg("limit", "100") or 100)
        everything = [
            {"Id": i, "Path": p, "Type": "Episode", "Name": p.rsplit("/", 1)[-1]} for p, i in self.items.items()
        ]
        return Reply(
            body={"Items": everything[start : start + limit], "TotalRecordCount": len(everything), "StartIndex": start}
        )

    @handles("GET", r"/MediaSegments/([^/]+)")
    def _get_segments(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        if not self._known(item_id):
            return Reply(404, "Item not found")
        items = [dict(s) for s in self.segments.get(item_id, [])]
        return Reply(body={"Items": items, "TotalRecordCount": len(items), "StartIndex": 0})

    @handles("PUT", r"/MediaSegmentsApi/([^/]+)")
    def _put_segments(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        if self.plugin != "segments":
            return Reply(404, "no such route")
        if not self._known(item_id):
            return Reply(404, "Item not found")
        body = request.body
        if not isinstance(body, list):
            return Reply(400, "expected MediaSegmentDto[]")
        stored = []
        for dto in body:
            if dto.get("Type") not in SEGMENT_TYPES or not 0 <= dto["StartTicks"] < dto["EndTicks"]:
                return Reply(400, f"bad segment {dto}")
            stored.append(
                {
                    "Id": dto.get("Id") or uuid.uuid4().hex,
                    "ItemId": item_id,
                    **{k: dto[k] for k in ("Type", "StartTicks", "EndTicks")},
                }
            )
        self.segments[item_id] = stored  # atomically replaces the whole set
        return Reply(200)

    @handles("GET", r"/Episode/([^/]+)/Timestamps")
    def _get_timestamps(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        if self.plugin not in ("segments", "timestamps") or not self._known(item_id):
            return Reply(404)
        return Reply(body=self.timestamps.get(item_id, {}))

    @handles("POST", r"/Episode/([^/]+)/Timestamps")
    def _post_timestamps(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        if self.plugin not in ("segments", "timestamps") or not self._known(item_id):
            return Reply(404)
        stored = self.timestamps.setdefault(item_id, {})
        for mode in ("Introduction", "Credits", "Recap", "Preview"):
            segment = (request.body or {}).get(mode)
            if segment and segment.get("End", 0) > 0:  # the plugin applies a segment only when End > 0
                stored[mode] = {"Start": segment["Start"], "End": segment["End"]}
        return Reply(204)

    @handles("POST", r"/Items/([^/]+)/Refresh")
    def _refresh(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(204) if self._known(match.group(1)) else Reply(404)
