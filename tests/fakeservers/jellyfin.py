"""Jellyfin, alone or with one build of the Intro Skipper plugin, each answering as its source does.

Core Jellyfin (jellyfin/jellyfin, read at tags v10.9.11, v10.10.7 and v10.11.11):
- `GET /Plugins` (Jellyfin.Api/Controllers/PluginsController.cs `GetPlugins`): a list of `PluginInfo`
  (MediaBrowser.Model/Plugins/PluginInfo.cs): `Name`, `Version` ("1.10.11.13", JsonVersionConverter), `Id` (a Guid
  written "N", no dashes: src/Jellyfin.Extensions/Json/Converters/JsonGuidConverter.cs), `Description`,
  `CanUninstall`, `HasImage`, `Status` (MediaBrowser.Model/Plugins/PluginStatus.cs: Active, Restart, Disabled,
  NotSupported, Malfunctioned, Superseded, Deleted; written as a string).
- `GET /MediaSegments/{itemId}` (Jellyfin.Api/Controllers/MediaSegmentsController.cs, 10.10 and 10.11; absent in
  10.9): `QueryResult<MediaSegmentDto>` of the rows of every *registered and enabled* segment provider, ordered by
  `StartTicks` (Jellyfin.Server.Implementations/MediaSegments/MediaSegmentManager.cs `GetSegmentsAsync`,
  filterByProvider): what a client sees. There is no core route that writes a segment.
- `RunSegmentPluginProviders(item, options, forceOverwrite: true)` (same file, v10.11.11) deletes every row of the
  item, whichever provider wrote it, and runs every provider again (a provider with a source, such as chapters,
  writes its rows again, under new ids).

The plugin builds (intro-skipper/intro-skipper; `BUILDS` below, one mode each):
- "1.10.9": branch 10.9 at 866b4f9 (AssemblyVersion 1.10.9.2), IntroSkipper/Controllers/SkipIntroController.cs:
  `POST /Episode/{Id}/Timestamps` (seconds; Introduction and Credits only, each applied when `End > 0`) and
  `GET` of the same route (zeros when there is none). Jellyfin 10.9 has no media segments: the viewer gets the
  plugin's own skip button (`GET /Episode/{id}/IntroSkipperSegments`).
- "1.10.10": branch 10.10 at 64e517d (AssemblyVersion 1.10.10.12), same controller with Recap and Preview too, and
  IntroSkipper/Manager/MediaSegmentUpdateManager.cs: after a POST, when the episode is in the plugin's
  `QueuedMediaItems`, it deletes *all* of the item's segments (`GetSegmentsAsync(id, null, false)`: every provider)
  and writes its own. No `/MediaSegmentsApi`.
- "1.10.11-post": IntroSkipper/Controllers/SegmentEditorController.cs at c6f4a1d (a 1.10.11 build, plugin version
  written with 3 parts): only `GET /MediaSegmentsApi` (metadata), `POST /MediaSegmentsApi/{itemId}?providerId=`
  (one `MediaSegmentDto`, ticks; stored per item and type, so it replaces that type) and
  `DELETE /MediaSegmentsApi/{segmentId}?itemId=&type=` (deletes that core row, whoever wrote it, and the plugin's
  row of that type); IntroSkipper/Manager/MediaSegmentUpdateManager.cs at c6f4a1d then runs
  `RunSegmentPluginProviders(..., true)`. A GET or PUT on `/MediaSegmentsApi/{id}` answers 405.
- "etag": the newest indexed SegmentEditorController.cs (2026; its release tag could not be read from the index, so
  the version reported here, 12.0.4.0, is the newest in intro-skipper/manifest 12/manifest.json): `GET
  /MediaSegmentsApi/{itemId}` answers the plugin's own segments (a list, ticks) with `ETag: "<revision>"`; `PUT`
  of the whole list answers 428 without `If-Match`, 400 for a malformed one, 412 when the revision is stale, 400
  for a segment of another item, an unknown type or `EndTicks <= StartTicks`; `POST` adds (no longer replaces);
  the plugin's rows in Jellyfin follow its store, other providers' rows are left alone.
Segment types (src/Jellyfin.Database/Jellyfin.Database.Implementations/Enums/MediaSegmentType.cs at 094b1fd):
Unknown 0, Commercial 1, Preview 2, Recap 3, Outro 4, Intro 5, written as names, read as names or numbers; a name that
is none of them fails the body's model binding (400). The plugin maps Intro, Recap, Preview, Outro (its Credits mode)
and Commercial (IntroSkipper/Data/AnalysisHelpers.cs at 26d455f; `Plugin.MapSegmentTypeToMode` in the builds before):
c6f4a1d's POST throws for Unknown (500) and its DELETE takes `type` intro, recap, preview, outro or credits, and
commercial, deleting the core row first and throwing (500) for any other; the newest answers both with 400 "Unknown
segment type '...'".
The Timestamps routes exist in every build (a deprecated shim in the newest). Auth: `Authorization: MediaBrowser
... Token="<key>"` only (legacy headers are off by default from 12.0).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.fakeservers.base import FakeServer, Reply, Request, handles

SEGMENT_TYPES = ("Commercial", "Preview", "Recap", "Outro", "Intro")  # MediaSegmentType, Unknown excluded
TYPE_NUMBERS = {0: "Unknown", 1: "Commercial", 2: "Preview", 3: "Recap", 4: "Outro", 5: "Intro"}
# The DELETE route's `type` (c6f4a1d's switch; the newest parses the type names, "credits" an alias of Outro)
DELETE_TYPES = {"intro": "Intro", "recap": "Recap", "preview": "Preview", "outro": "Outro", "credits": "Outro"}
DELETE_TYPES["commercial"] = "Commercial"
# Intro Skipper's AnalysisMode <-> MediaSegmentType (IntroSkipper/Data/AnalysisHelpers.cs)
MODE_TYPES = {"Introduction": "Intro", "Credits": "Outro", "Recap": "Recap", "Preview": "Preview"}
INTRO_SKIPPER = "Intro Skipper"  # its plugin name, which is also its segment provider's name
INTRO_SKIPPER_ID = "c83d86bba1e04c35a113e2101cf4ee6b"  # intro-skipper/manifest: c83d86bb-a1e0-4c35-a113-e2101cf4ee6b
CHAPTERS = "Chapter Segments Provider"  # jellyfin/jellyfin-plugin-chapter-segments
TICKS = 10_000_000
_TOKEN = re.compile(r'^MediaBrowser\s.*\bToken="([^"]*)"')
_ETAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


@dataclass(frozen=True)
class Build:
    """One Jellyfin + Intro Skipper combination (see the module docstring for the sources)."""

    jellyfin: str  # as /System/Info says
    plugin_version: str | None  # None: no plugin installed
    timestamp_modes: tuple[str, ...] = ()  # what POST /Episode/{Id}/Timestamps accepts
    segments_api: frozenset[str] = frozenset()  # methods on /MediaSegmentsApi/{id}
    projection: str = "none"  # how the plugin's store reaches Jellyfin: none, wipe, rerun, own

    @property
    def core_segments(self) -> bool:
        return not self.jellyfin.startswith("10.9.")


_ALL_MODES = ("Introduction", "Credits", "Recap", "Preview")
BUILDS = {
    "none": Build("10.11.11", None),
    "1.10.9": Build("10.9.11", "1.10.9.2", ("Introduction", "Credits")),
    "1.10.10": Build("10.10.7", "1.10.10.12", _ALL_MODES, projection="wipe"),
    "1.10.11-post": Build("10.11.5", "1.10.11.9", _ALL_MODES, frozenset({"POST", "DELETE"}), "rerun"),
    "etag": Build("10.11.11", "12.0.4.0", _ALL_MODES, frozenset({"GET", "PUT", "POST", "DELETE"}), "own"),
}
ALIASES = {"timestamps": "1.10.10", "segments": "etag"}  # the names older tests use


@dataclass
class Row:
    """A segment: a row of Jellyfin's MediaSegments table (with its provider) or of the plugin's store."""

    type: str
    start_ticks: int
    end_ticks: int
    provider: str = INTRO_SKIPPER
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def dto(self, item_id: str) -> dict[str, Any]:
        return {
            "Id": self.id,
            "ItemId": item_id,
            "Type": self.type,
            "StartTicks": self.start_ticks,
            "EndTicks": self.end_ticks,
        }


class FakeJellyfin(FakeServer):
    def __init__(self, api_key: str, items: dict[str, str], plugin: str | None = "segments") -> None:
        super().__init__()
        self.api_key = api_key
        self.items = dict(items)  # server path -> item id
        self.build_name = ALIASES.get(plugin or "none", plugin or "none")  # a key of BUILDS
        self.build = BUILDS[self.build_name]
        self.plugin_status = "Active"
        self.core: dict[str, list[Row]] = {}  # item id -> Jellyfin's segment rows, every provider
        self.store: dict[str, list[Row]] = {}  # item id -> the plugin's own segments
        self.revision: dict[str, int] = {}  # item id -> the plugin's revision of its store (etag build)
        self.unqueued: set[str] = set()  # items not in the 10.10 plugin's QueuedMediaItems (not projected)
        self.extra_paths: dict[str, dict[str, Any]] = {}  # OpenAPI paths another plugin adds
        self.task_id = "a1b2c3"

    # -- what tests set up and look at --------------------------------------------------------------------------
    def uninstall(self) -> None:
        self.build = Build(self.build.jellyfin, None)

    def add_segment(self, item_id: str, type_: str, start_s: float, end_s: float, provider: str = CHAPTERS) -> None:
        """A row another provider wrote (e.g. an `Outro` from the file's chapters)."""
        self.core.setdefault(item_id, []).append(Row(type_, round(start_s * TICKS), round(end_s * TICKS), provider))

    def viewer_segments(self, item_id: str) -> list[tuple[str, float, float]]:
        """What a client shows: Jellyfin's segments (10.10+), or the plugin's own skip segments on 10.9."""
        rows = self._visible(item_id) if self.build.core_segments else self.store.get(item_id, [])
        return [(r.type, r.start_ticks / TICKS, r.end_ticks / TICKS) for r in rows]

    def intro_of(self, item_id: str) -> tuple[float, float] | None:
        """The intro a viewer is offered to skip, in seconds; asserts there is at most one."""
        intros = [(start, end) for type_, start, end in self.viewer_segments(item_id) if type_ == "Intro"]
        assert len(intros) <= 1, f"duplicated intro segments: {intros}"
        return intros[0] if intros else None

    @property
    def timestamps(self) -> dict[str, dict[str, dict[str, float]]]:
        """The plugin's store as its Timestamps route gives it (seconds, by AnalysisMode)."""
        modes = {type_: mode for mode, type_ in MODE_TYPES.items()}
        return {
            item_id: {
                modes[r.type]: {"Start": r.start_ticks / TICKS, "End": r.end_ticks / TICKS}
                for r in rows
                if r.type in modes
            }
            for item_id, rows in self.store.items()
        }

    # -- core ---------------------------------------------------------------------------------------------------
    def authorised(self, request: Request) -> bool:
        match = _TOKEN.match(request.headers.get("Authorization", ""))
        return bool(match) and match.group(1) == self.api_key

    def _known(self, item_id: str) -> bool:
        return item_id in self.items.values()

    def _providers(self) -> set[str]:
        return {CHAPTERS} | ({INTRO_SKIPPER} if self._plugin_loaded() else set())

    def _plugin_loaded(self) -> bool:
        return self.build.plugin_version is not None and self.plugin_status == "Active"

    def _visible(self, item_id: str) -> list[Row]:
        providers = self._providers()
        rows = [r for r in self.core.get(item_id, []) if r.provider in providers]
        return sorted(rows, key=lambda r: r.start_ticks)

    @handles("GET", r"/System/Info")
    def _info(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(body={"Version": self.build.jellyfin, "Id": "srv", "ServerName": "fake"})

    @handles("GET", r"/Plugins")
    def _plugins(self, request: Request, match: re.Match[str]) -> Reply:
        plugins = [self._plugin_info(CHAPTERS, "5.0.0.0", "6f3a1b2cb9d54c1e9a3c2d4e5f607182", "Active")]
        if self.build.plugin_version is not None:
            plugins.append(
                self._plugin_info(INTRO_SKIPPER, self.build.plugin_version, INTRO_SKIPPER_ID, self.plugin_status)
            )
        return Reply(body=sorted(plugins, key=lambda p: p["Name"]))

    @staticmethod
    def _plugin_info(name: str, version: str, id_: str, status: str) -> dict[str, Any]:
        return {
            "Name": name,
            "Version": version,
            "ConfigurationFileName": f"{name.replace(' ', '')}.xml",
            "Description": name,
            "Id": id_,
            "CanUninstall": True,
            "HasImage": False,
            "Status": status,
        }

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
        paths: dict[str, Any] = {"/Items": {"get": {}}, "/Plugins": {"get": {}}, **self.extra_paths}
        if self.build.core_segments:
            paths["/MediaSegments/{itemId}"] = {"get": {}}
        if self._plugin_loaded():
            paths["/Episode/{Id}/Timestamps"] = {"get": {}, "post": {}}
            api = self.build.segments_api
            if api:
                paths["/MediaSegmentsApi"] = {"get": {}}
                # The same path twice, named by its parameter, as Swashbuckle lists it.
                paths["/MediaSegmentsApi/{itemId}"] = {m.lower(): {} for m in api if m != "DELETE"}
                paths["/MediaSegmentsApi/{segmentId}"] = {"delete": {}}
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
        if not self.build.core_segments:
            return Reply(404)  # 10.9: no such controller
        if not self._known(item_id):
            return Reply(404, "Item not found")
        wanted = request.query.get("includeSegmentTypes")
        rows = [r.dto(item_id) for r in self._visible(item_id) if not wanted or r.type in wanted]
        return Reply(body={"Items": rows, "TotalRecordCount": len(rows), "StartIndex": 0})

    @handles("POST", r"/Items/([^/]+)/Refresh")
    def _refresh(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(204) if self._known(match.group(1)) else Reply(404)

    # -- the plugin's projection into Jellyfin ------------------------------------------------------------------
    def _project(self, item_id: str) -> None:
        mine = [Row(r.type, r.start_ticks, r.end_ticks, INTRO_SKIPPER, r.id) for r in self.store.get(item_id, [])]
        others = [r for r in self.core.get(item_id, []) if r.provider != INTRO_SKIPPER]
        kind = self.build.projection
        if kind == "wipe" and item_id not in self.unqueued:
            self.core[item_id] = mine  # every provider's rows deleted first
        elif kind == "rerun":  # all rows deleted, every provider run again: new ids
            self.core[item_id] = [Row(r.type, r.start_ticks, r.end_ticks, r.provider) for r in others + mine]
        elif kind == "own":
            self.core[item_id] = others + mine

    def _set_type(self, item_id: str, type_: str, start_ticks: int, end_ticks: int) -> None:
        """The plugin's store holds one segment per item and type (`UpdateTimestampAsync`) before the newest."""
        rows = [r for r in self.store.get(item_id, []) if r.type != type_]
        self.store[item_id] = [*rows, Row(type_, start_ticks, end_ticks)]
        self.revision[item_id] = self.revision.get(item_id, 0) + 1

    # -- Intro Skipper: /Episode/{Id}/Timestamps (seconds) ------------------------------------------------------
    def _timestamps_route(self, item_id: str) -> Reply | None:
        if not self._plugin_loaded():
            return Reply(404)
        if not self._known(item_id):
            return Reply(404)  # "Given ID is not an Episode"
        return None

    @handles("GET", r"/Episode/([^/]+)/Timestamps")
    def _get_timestamps(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        refused = self._timestamps_route(item_id)
        if refused is not None:
            return refused
        stored = {r.type: r for r in self.store.get(item_id, [])}
        body = {}
        for mode in self.build.timestamp_modes:
            row = stored.get(MODE_TYPES[mode])
            start, end = (row.start_ticks / TICKS, row.end_ticks / TICKS) if row else (0.0, 0.0)
            body[mode] = {"EpisodeId": item_id if row else "0" * 32, "Start": start, "End": end}
        return Reply(body=body)

    @handles("POST", r"/Episode/([^/]+)/Timestamps")
    def _post_timestamps(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        refused = self._timestamps_route(item_id)
        if refused is not None:
            return refused
        for mode in self.build.timestamp_modes:
            segment = (request.body or {}).get(mode) or {}
            if float(segment.get("End", 0)) > 0:  # `Segment.Valid`: applied only when End > 0
                start, end = round(float(segment["Start"]) * TICKS), round(float(segment["End"]) * TICKS)
                self._set_type(item_id, MODE_TYPES[mode], start, end)
        self._project(item_id)
        return Reply(204)

    # -- Intro Skipper: /MediaSegmentsApi (ticks) ---------------------------------------------------------------
    def _segments_route(self, method: str, item_id: str) -> Reply | None:
        api = self.build.segments_api if self._plugin_loaded() else frozenset()
        if method not in api:
            # ASP.NET answers 405 when the path has a route for other methods, 404 when it has none.
            return Reply(405, "Method Not Allowed") if api else Reply(404)
        if method != "DELETE" and not self._known(item_id):
            return Reply(404)
        return None

    def _etag(self, item_id: str) -> dict[str, str]:
        return {"ETag": f'"r{self.revision.get(item_id, 0)}"'}

    @handles("GET", r"/MediaSegmentsApi/([^/]+)")
    def _api_get(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        refused = self._segments_route("GET", item_id)
        if refused is not None:
            return refused
        rows = [r.dto(item_id) for r in self.store.get(item_id, [])]
        return Reply(body=rows, headers=self._etag(item_id))

    @handles("PUT", r"/MediaSegmentsApi/([^/]+)")
    def _api_put(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        refused = self._segments_route("PUT", item_id)
        if refused is not None:
            return refused
        if_match = request.headers.get("If-Match", "").strip()
        if not if_match:
            return Reply(428, "If-Match is required; read the item before replacing its segments.")
        tags = [_ETAG.fullmatch(part) for part in if_match.split(",")]
        if if_match != "*" and not all(tags):
            return Reply(
                400, "If-Match must contain a valid entity-tag list returned by GET /MediaSegmentsApi/{itemId}."
            )
        rows = self._rows_of(item_id, request.body)
        if isinstance(rows, Reply):
            return rows
        current = f"r{self.revision.get(item_id, 0)}"
        strong = [t.group(2) for t in tags if t and not t.group(1)]
        if if_match != "*" and current not in strong:
            return Reply(412, "The segments changed since they were read.")
        self.store[item_id] = rows
        self.revision[item_id] = self.revision.get(item_id, 0) + 1
        self._project(item_id)
        return Reply(body=[r.dto(item_id) for r in rows], headers=self._etag(item_id))

    def _rows_of(self, item_id: str, body: Any) -> list[Row] | Reply:
        if not isinstance(body, list):
            return Reply(400, "expected MediaSegmentDto[]")
        rows = []
        for dto in body:
            refused = self._refuse(item_id, dto)
            if refused is not None:
                return refused
            rows.append(Row(dto["Type"], dto["StartTicks"], dto["EndTicks"], id=dto.get("Id") or uuid.uuid4().hex))
        return rows

    def _refuse(self, item_id: str, dto: Any) -> Reply | None:
        if not isinstance(dto, dict):
            return Reply(400, "Every segment must be non-null.")
        type_ = dto.get("Type")
        if isinstance(type_, int) and type_ in TYPE_NUMBERS:
            type_ = dto["Type"] = TYPE_NUMBERS[type_]
        if type_ not in TYPE_NUMBERS.values():  # System.Text.Json cannot bind it to MediaSegmentType
            return Reply(400, {"title": "One or more validation errors occurred.", "status": 400})
        if dto.get("ItemId") not in (None, "", "0" * 32, item_id):
            return Reply(400, "Every segment must belong to the requested item.")
        if type_ not in SEGMENT_TYPES:
            if self.build.projection != "own":  # c6f4a1d: MapSegmentTypeToMode throws NotImplementedException
                return Reply(500, "System.NotImplementedException: The method or operation is not implemented.")
            return Reply(400, f"Unknown segment type '{type_}'.")
        start, end = dto.get("StartTicks"), dto.get("EndTicks")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
            return Reply(400, "EndTicks must be after StartTicks and both must be non-negative.")
        return None

    @handles("POST", r"/MediaSegmentsApi/([^/]+)")
    def _api_post(self, request: Request, match: re.Match[str]) -> Reply:
        item_id = match.group(1)
        refused = self._segments_route("POST", item_id) or self._refuse(item_id, request.body)
        if refused is not None:
            return refused
        if not request.arg("providerId"):
            return Reply(400, "The providerId field is required.")
        dto = request.body
        if self.build.projection == "own":  # the newest: additive
            self.store.setdefault(item_id, []).append(Row(dto["Type"], dto["StartTicks"], dto["EndTicks"]))
            self.revision[item_id] = self.revision.get(item_id, 0) + 1
        else:
            self._set_type(item_id, dto["Type"], dto["StartTicks"], dto["EndTicks"])
        self._project(item_id)
        return Reply(200)

    @handles("DELETE", r"/MediaSegmentsApi/([^/]+)")
    def _api_delete(self, request: Request, match: re.Match[str]) -> Reply:
        segment_id, item_id, type_ = match.group(1), request.arg("itemId") or "", (request.arg("type") or "").lower()
        refused = self._segments_route("DELETE", item_id)
        if refused is not None:
            return refused
        if not item_id:
            return Reply(400, "The itemId field is required.")
        if self.build.projection == "own":
            if type_ not in DELETE_TYPES:
                return Reply(400, f"Unknown segment type '{request.arg('type')}'.")
            rows = self.store.get(item_id, [])
            if not any(r.id == segment_id for r in rows):
                return Reply(404)
            self.store[item_id] = [r for r in rows if r.id != segment_id]
            self.revision[item_id] = self.revision.get(item_id, 0) + 1
            self._project(item_id)
            return Reply(200)
        # c6f4a1d: the core row with that id goes, whoever wrote it, then the plugin's row of that type.
        for rows in self.core.values():
            rows[:] = [r for r in rows if r.id != segment_id]
        if type_ not in DELETE_TYPES:  # ArgumentOutOfRangeException, after the core row went
            return Reply(500, f"System.ArgumentOutOfRangeException: Unknown segment type '{request.arg('type')}'")
        self.store[item_id] = [r for r in self.store.get(item_id, []) if r.type != DELETE_TYPES[type_]]
        return Reply(200)
