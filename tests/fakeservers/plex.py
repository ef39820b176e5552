"""Plex Media Server, JSON flavour (`Accept: application/json`), with the marker routes of the published spec
(LukeHagar/plex-api-spec): POST/PUT/DELETE /library/metadata/{ids}/marker[/{marker}] with query parameters.
Markers Plex's own detection made cannot be deleted ("400 Marker is not a bookmark").
Auth: `X-Plex-Token` (header or query) plus `X-Plex-Client-Identifier`.
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

from tests.fakeservers.base import FakeServer, Reply, Request, handles

MARKER_TYPES = {0: "intro", 1: "commercial", 2: "bookmark", 3: "resume", 4: "credit"}  # our guess, as in options


class FakePlex(FakeServer):
    def __init__(self, token: str, sections: dict[str, tuple[str, dict[str, str]]]) -> None:
        """sections: key -> (location, {file: ratingKey})."""
        super().__init__()
        self.token = token
        self.sections = sections
        self.markers: dict[str, list[dict[str, Any]]] = {}
        self._ids = count(100)

    def authorised(self, request: Request) -> bool:
        return self.token in (request.headers.get("X-Plex-Token"), request.arg("X-Plex-Token"))

    def user_markers_of(self, rating_key: str) -> list[tuple[str, float, float]]:
        """Markers created through the HTTP route: (type, start s, end s)."""
        return [
            (m["type"], m["startTimeOffset"] / 1000, m["endTimeOffset"] / 1000)
            for m in self.markers.get(rating_key, [])
            if not m["own"]
        ]

    def add_plex_marker(self, rating_key: str, start_ms: int, end_ms: int) -> None:
        """A marker from Plex's own intro detection."""
        self.markers.setdefault(rating_key, []).append(
            {"id": next(self._ids), "type": "intro", "startTimeOffset": start_ms, "endTimeOffset": end_ms, "own": True}
        )

    def intro_of(self, rating_key: str) -> tuple[float, float] | None:
        """The intro a Plex client turns into "Skip Intro": the server-wide marker of Plex's own detection. A marker
        POSTed through the HTTP route is the user's own ("for this user" in the published spec): never this one."""
        intros = [m for m in self.markers.get(rating_key, []) if m["type"] == "intro" and m["own"]]
        assert len(intros) <= 1, f"duplicated intro markers: {intros}"
        return (intros[0]["startTimeOffset"] / 1000, intros[0]["endTimeOffset"] / 1000) if intros else None

    def _known(self, rating_key: str) -> bool:
        return any(rating_key in files.values() for _, files in self.sections.values())

    @handles("GET", r"/library/sections")
    def _sections(self, request: Request, match: re.Match[str]) -> Reply:
        directories = [
            {"key": key, "type": "show", "title": f"TV {key}", "Location": [{"id": int(key), "path": location}]}
            for key, (location, _) in self.sections.items()
        ]
        directories.append({"key": "99", "type": "movie", "title": "Films", "Location": [{"id": 99, "path": "/films"}]})
        return Reply(body={"MediaContainer": {"size": len(directories), "Directory": directories}})

    @handles("GET", r"/library/sections/([^/]+)/all")
    def _all(self, request: Request, match: re.Match[str]) -> Reply:
        if request.headers.get("X-Plex-Client-Identifier") is None:
            return Reply(400, "X-Plex-Client-Identifier missing")
        _location, files = self.sections[match.group(1)]
        assert request.arg("type") == "4", "episodes are type 4"
        start = int(request.arg("X-Plex-Container-Start", "0") or 0)
        size = int(request.arg("X-Plex-Container-Size", "50") or 50)
        episodes = [
            {"ratingKey": key, "type": "episode", "Media": [{"id": 1, "Part": [{"id": 1, "file": path}]}]}
            for path, key in files.items()
        ]
        page = episodes[start : start + size]
        return Reply(
            body={"MediaContainer": {"size": len(page), "totalSize": len(episodes), "offset": start, "Metadata": page}}
        )

    @handles("GET", r"/library/metadata/(\d+)")
    def _metadata(self, request: Request, match: re.Match[str]) -> Reply:
        key = match.group(1)
        if not self._known(key):
            return Reply(404)
        item: dict[str, Any] = {"ratingKey": key, "type": "episode"}
        if request.arg("includeMarkers") == "1":
            item["Marker"] = [{k: v for k, v in m.items() if k != "own"} for m in self.markers.get(key, [])]
        return Reply(body={"MediaContainer": {"size": 1, "Metadata": [item]}})

    def _marker_args(self, request: Request) -> tuple[str, int, int] | Reply:
        try:
            kind = MARKER_TYPES[int(request.arg("type") or "")]
            start, end = int(request.arg("startTimeOffset") or ""), int(request.arg("endTimeOffset") or "")
        except (KeyError, ValueError):
            return Reply(400, "bad parameters")
        if end < start:
            return Reply(400, "endTimeOffset prior to startTimeOffset")
        return kind, start, end

    @handles("POST", r"/library/metadata/(\d+)/marker")
    def _create(self, request: Request, match: re.Match[str]) -> Reply:
        key = match.group(1)
        if not self._known(key):
            return Reply(404)
        args = self._marker_args(request)
        if isinstance(args, Reply):
            return args
        kind, start, end = args
        marker = {"id": next(self._ids), "type": kind, "startTimeOffset": start, "endTimeOffset": end, "own": False}
        self.markers.setdefault(key, []).append(marker)
        return Reply(body={"MediaContainer": {"size": 1, "Marker": [{k: v for k, v in marker.items() if k != "own"}]}})

    def _find(self, key: str, marker_id: str) -> dict[str, Any] | None:
        return next((m for m in self.markers.get(key, []) if str(m["id"]) == marker_id), None)

    @handles("PUT", r"/library/metadata/(\d+)/marker/(\d+)")
    def _edit(self, request: Request, match: re.Match[str]) -> Reply:
        marker = self._find(match.group(1), match.group(2))
        if marker is None:
            return Reply(404, "The marker could not be found")
        args = self._marker_args(request)
        if isinstance(args, Reply):
            return args
        marker["type"], marker["startTimeOffset"], marker["endTimeOffset"] = args
        return Reply(200)

    @handles("DELETE", r"/library/metadata/(\d+)/marker/(\d+)")
    def _delete(self, request: Request, match: re.Match[str]) -> Reply:
        key, marker_id = match.groups()
        marker = self._find(key, marker_id)
        if marker is None:
            return Reply(404, "Marker could not be found")
        if marker["own"]:
            return Reply(400, "Marker is not a bookmark")
        self.markers[key].remove(marker)
        return Reply(200)
