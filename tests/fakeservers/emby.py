"""Emby 4.9 with, optionally, the ChapterApi plugin (faush01/ChapterApi, `ChapterApi/Api/ChapterApiEndpoint.cs` at
9c3f254, 2025-03-18).

Its chapter store behaves like the plugin's `Get(UpdateChapters)`: `action=add` takes `type` chapter, intro_start,
intro_end or credits_start (Emby's MarkerType Chapter, IntroStart, IntroEnd, CreditsStart: there is no recap or
preview marker) and a `time` TimeSpan.TryParse reads; anything else is refused only in the answer's list of what it
did ("Chapter Marker Type not valid : ..."), with 200. `action=remove` takes indexes into the list as `get_chapters`
returns it. Every call then sorts the list by start and saves it. Auth: `X-Emby-Token` header or `api_key` query.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.fakeservers.base import NO_ROUTE, FakeServer, Reply, Request, handles

_TYPES = {"chapter": "Chapter", "intro_start": "IntroStart", "intro_end": "IntroEnd", "credits_start": "CreditsStart"}
_TIME = re.compile(r"^(\d+):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")  # what .NET TimeSpan.TryParse accepts, roughly


class FakeEmby(FakeServer):
    def __init__(self, api_key: str, items: dict[str, str], plugin: bool = True) -> None:
        super().__init__()
        self.api_key = api_key
        self.items = dict(items)  # server path -> numeric InternalId (as text)
        self.plugin = plugin
        self.chapters: dict[str, list[dict[str, Any]]] = {}

    def authorised(self, request: Request) -> bool:
        return self.api_key in (request.headers.get("X-Emby-Token"), request.arg("api_key"))

    def markers_of(self, item_id: str) -> list[tuple[str, float]]:
        """Every marker that is not an ordinary chapter: (MarkerType, seconds), in time order."""
        return [
            (c["MarkerType"], c["StartPositionTicks"] / 1e7)
            for c in self.chapters.get(item_id, [])
            if c["MarkerType"] != "Chapter"
        ]

    def intro_of(self, item_id: str) -> tuple[float, float] | None:
        chapters = self.chapters.get(item_id, [])
        starts = [c for c in chapters if c["MarkerType"] == "IntroStart"]
        ends = [c for c in chapters if c["MarkerType"] == "IntroEnd"]
        assert len(starts) <= 1 and len(ends) <= 1, f"duplicated intro markers: {chapters}"
        if not starts and not ends:
            return None
        return starts[0]["StartPositionTicks"] / 1e7, ends[0]["StartPositionTicks"] / 1e7

    @handles("GET", r"/emby/System/Info")
    def _info(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(body={"Version": "4.9.1.90"})

    @handles("GET", r"/emby/Items")
    def _items(self, request: Request, match: re.Match[str]) -> Reply:
        assert request.arg("IncludeItemTypes") == "Episode" and request.arg("Fields") == "Path"
        start, limit = int(request.arg("StartIndex", "0") or 0), int(request.arg("Limit", "100") or 100)
        everything = [{"Id": i, "Path": p, "Type": "Episode"} for p, i in self.items.items()]
        return Reply(body={"Items": everything[start : start + limit], "TotalRecordCount": len(everything)})

    def _chapter_item(self, request: Request) -> str | Reply:
        """The item `?id=` names, or the reply the server gives instead: no route without the plugin, and for an
        unknown id the plugin's own failure."""
        item_id = request.arg("id")
        if not self.plugin:
            return NO_ROUTE
        if item_id is None or item_id not in self.items.values():
            return Reply(500, "Object reference not set to an instance of an object.")  # what the plugin does
        return item_id

    @handles("GET", r"/emby/chapter_api/get_items")
    def _plugin_items(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(body=[{"Id": 3, "Name": "TV"}]) if self.plugin else NO_ROUTE

    @handles("GET", r"/emby/chapter_api/get_chapters")
    def _get_chapters(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = self._chapter_item(request)
        if isinstance(item_id, Reply):
            return item_id
        listed = [{**c, "Index": i} for i, c in enumerate(self.chapters.get(item_id, []))]
        return Reply(body={"item_info": {"Id": int(item_id), "ItemType": "Episode"}, "chapters": listed})

    @handles("GET", r"/emby/chapter_api/update_chapters")
    def _update_chapters(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = self._chapter_item(request)
        if isinstance(item_id, Reply):
            return item_id
        chapters = self.chapters.setdefault(item_id, [])
        actions: list[str] = []
        if request.arg("action") == "remove":
            actions.append("Removing Chapters")
            for index in sorted((int(i) for i in (request.arg("index_list") or "").split(",") if i), reverse=True):
                if index < len(chapters):
                    chapters.pop(index)
                    actions.append(f"Chapter with index {index} was removed")
        elif request.arg("action") == "add":
            actions.append("Adding Chapter")
            time_match = _TIME.match(request.arg("time") or "")
            marker = _TYPES.get(request.arg("type") or "")
            if time_match is None:
                actions.append(f"Chapter time not valid : {request.arg('time')}")
            if marker is None:
                actions.append(f"Chapter Marker Type not valid : {request.arg('type')}")
            if time_match and marker:
                h, m, s, frac = time_match.groups()
                ticks = int(timedelta(hours=int(h), minutes=int(m), seconds=int(s)).total_seconds()) * 10**7
                ticks += int((frac or "0").ljust(7, "0"))
                name = request.arg("name") or marker
                chapters.append({"Name": name, "MarkerType": marker, "StartPositionTicks": ticks})
                actions.append(f"Chapter Added : {name} | {marker} | {ticks}")
        chapters.sort(key=lambda c: c["StartPositionTicks"])
        return Reply(body=actions)
