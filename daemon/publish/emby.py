"""Emby: the intro becomes two chapter markers, IntroStart and IntroEnd, through the ChapterApi plugin.

Emby has no core route that writes chapters or markers; every tool that does is a server plugin. ChapterApi
(faush01/ChapterApi) exposes, for any authenticated user, `GET /emby/chapter_api/get_chapters?id=` and
`GET /emby/chapter_api/update_chapters?id=&action=add|remove...` (mutation over GET is the plugin's choice).
Its ids are Emby's numeric InternalIds, which is what `/emby/Items` returns as `Id`. See media-server-apis.md, 2.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, to_ticks
from daemon.publish.errors import NotFoundError, PermanentPublishError, PluginMissingError
from daemon.publish.items import mediabrowser_items
from daemon.publish.options import Kind, ServerOptions, Sources, server_options
from daemon.publish.server import ServerTarget
from detector.result import Intro

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install the ChapterApi plugin (https://github.com/faush01/ChapterApi: put ChapterApi.dll in the "
    "server's plugins folder) and restart Emby"
)
# ChapterApi serialises Emby's MarkerType enum; names and numbers both seen in the wild.
_INTRO_START = ("IntroStart", 1)
_INTRO_END = ("IntroEnd", 2)
_TICK_TOLERANCE = 10_000  # 1 ms
_REPROBE_S = 600.0


@dataclass(frozen=True)
class EmbyOptions:
    server: ServerOptions


def _parse(table: Table, sources: Sources) -> EmbyOptions:
    return EmbyOptions(server_options(table, sources))


class EmbyPublisher(ServerTarget[EmbyOptions]):
    kind = "emby"

    def __init__(self, name: str, options: EmbyOptions, **connection: Any) -> None:
        """`connection`: `session` and `clock`, as for every `ServerTarget`."""
        super().__init__(name, options, **connection)
        self._has_plugin: bool | None = None
        self._probed_at = 0.0

    def _headers(self) -> dict[str, str]:
        return {"X-Emby-Token": self.options.server.secret.reveal()}

    def probe(self) -> None:
        """Raises `PluginMissingError` (the same text each time, so the service says it once) without ChapterApi."""
        self.http.get("/emby/System/Info")  # checks the key: 401 is an AuthError
        try:
            self.http.get("/emby/chapter_api/get_items")  # harmless: lists the library folders
            self._has_plugin = True
        except NotFoundError:
            self._has_plugin = False
        self._probed_at = self.clock()
        if not self._has_plugin:
            raise PluginMissingError(self._missing())

    def push(self, episode: EpisodeRef, intro: Intro | None) -> PushResult:
        if self._has_plugin is None or (not self._has_plugin and self.clock() - self._probed_at >= _REPROBE_S):
            self.probe()
        elif not self._has_plugin:
            raise PluginMissingError(self._missing())
        return self.run(episode, lambda key: self._push(key, intro))

    def _push(self, item_id: str, intro: Intro | None) -> PushResult:
        chapters = self._chapters(item_id)
        ours = [c for c in chapters if _marker(c) in (_INTRO_START, _INTRO_END)]
        if intro is None and not ours:
            return PushResult(self.name, PushAction.UNCHANGED, "no intro markers")
        if intro is not None and _matches(ours, intro):
            return PushResult(self.name, PushAction.UNCHANGED, f"item {item_id}")
        if ours:
            indexes = ",".join(str(int(c["Index"])) for c in ours)
            self._update(item_id, {"action": "remove", "index_list": indexes})
        if intro is None:
            return PushResult(self.name, PushAction.REMOVED, f"item {item_id}")
        self._update(item_id, {"action": "add", "type": "intro_start", "time": _timespan(intro.start_s)})
        self._update(item_id, {"action": "add", "type": "intro_end", "time": _timespan(intro.end_s)})
        return PushResult(self.name, PushAction.REPLACED if ours else PushAction.CREATED, f"item {item_id}")

    def _chapters(self, item_id: str) -> list[dict[str, Any]]:
        answer = self.http.get("/emby/chapter_api/get_chapters", params={"id": item_id}) or {}
        return list(answer.get("chapters") or [])

    def _update(self, item_id: str, params: dict[str, str]) -> None:
        actions = self.http.get("/emby/chapter_api/update_chapters", params={"id": item_id, **params}) or []
        # The plugin answers 200 with a list of what it did; a rejected value shows up only as text there.
        rejected = [a for a in actions if isinstance(a, str) and "not valid" in a]
        if rejected:
            raise PermanentPublishError(f"{self.http.label}: ChapterApi refused {params}: {'; '.join(rejected)}")

    def _list_episodes(self) -> Iterator[tuple[str, str]]:
        params = {"Recursive": "true", "IncludeItemTypes": "Episode", "Fields": "Path"}
        pages = mediabrowser_items(
            self.http, "/emby/Items", params, ("StartIndex", "Limit"), self.options.server.page_size
        )
        for item in pages:
            yield item.get("Path") or "", str(item["Id"])

    def _missing(self) -> str:
        return f"{self.http.label}: no route to write intro markers; {INSTALL_HINT}"


def _marker(chapter: dict[str, Any]) -> tuple[str, int] | None:
    value = chapter.get("MarkerType")
    for marker in (_INTRO_START, _INTRO_END):
        if value in marker:
            return marker
    return None


def _matches(ours: list[dict[str, Any]], intro: Intro) -> bool:
    starts = [c for c in ours if _marker(c) == _INTRO_START]
    ends = [c for c in ours if _marker(c) == _INTRO_END]
    return (
        len(starts) == 1
        and len(ends) == 1
        and abs(int(starts[0]["StartPositionTicks"]) - to_ticks(intro.start_s)) <= _TICK_TOLERANCE
        and abs(int(ends[0]["StartPositionTicks"]) - to_ticks(intro.end_s)) <= _TICK_TOLERANCE
    )


def _timespan(seconds: float) -> str:
    """`hh:mm:ss.fff`, which .NET's TimeSpan.TryParse reads exactly to the millisecond."""
    total_ms = round(seconds * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


KIND = Kind(
    parse=_parse, build=lambda name, options, wiring: EmbyPublisher(name, options, session=wiring.new_session())
)
