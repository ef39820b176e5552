"""Emby: the intro becomes two chapter markers, IntroStart and IntroEnd, and the credits one, CreditsStart, through
the ChapterApi plugin. Emby's markers are those three (ChapterInfo.MarkerType: Chapter, IntroStart, IntroEnd,
CreditsStart): a recap or a preview has nothing to become, so this kind of target does not take them.

Emby has no core route that writes chapters or markers; every tool that does is a server plugin. ChapterApi
(faush01/ChapterApi, ChapterApi/Api/ChapterApiEndpoint.cs at 9c3f254, 2025-03-18) exposes, for any authenticated
user, `GET /emby/chapter_api/get_chapters?id=` and `GET /emby/chapter_api/update_chapters?id=&action=add&type=
intro_start|intro_end|credits_start|chapter&time=` or `action=remove&index_list=` (mutation over GET is the plugin's
choice; each call sorts the list by start and saves it). Its ids are Emby's numeric InternalIds, which is what
`/emby/Items` returns as `Id`. See media-server-apis.md, 2. Markers of a kind this target pushes are replaced
whoever made them (Emby's own intro detection too): one IntroStart/IntroEnd pair and one CreditsStart per episode.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, outcome, pushed, single, to_ticks
from daemon.publish.errors import NotFoundError, PermanentPublishError, PluginMissingError
from daemon.publish.items import mediabrowser_items
from daemon.publish.options import Kind, ServerOptions, Sources, server_options
from daemon.publish.server import ServerTarget
from detector.result import Segment

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install the ChapterApi plugin (https://github.com/faush01/ChapterApi: put ChapterApi.dll in the "
    "server's plugins folder) and restart Emby"
)
# ChapterApi serialises Emby's MarkerType enum; names and numbers both seen in the wild.
_INTRO_START = ("IntroStart", 1)
_INTRO_END = ("IntroEnd", 2)
_CREDITS_START = ("CreditsStart", 3)
# What each kind becomes, and where: the segment's start or end. The credits run to the end as far as Emby knows.
_MARKERS = {"intro": ((_INTRO_START, "start"), (_INTRO_END, "end")), "credits": ((_CREDITS_START, "start"),)}
_TYPES = {_INTRO_START: "intro_start", _INTRO_END: "intro_end", _CREDITS_START: "credits_start"}  # update_chapters
REPRESENTS = ("intro", "credits")
_TICK_TOLERANCE = 10_000  # 1 ms
_REPROBE_S = 600.0


@dataclass(frozen=True)
class EmbyOptions:
    server: ServerOptions
    kinds: tuple[str, ...] = REPRESENTS


def _parse(table: Table, sources: Sources) -> EmbyOptions:
    return EmbyOptions(server_options(table, sources))


class EmbyPublisher(ServerTarget[EmbyOptions]):
    kind = "emby"

    def __init__(self, name: str, options: EmbyOptions, **connection: Any) -> None:
        """`connection`: `session` and `clock`, as for every `ServerTarget`."""
        super().__init__(name, options, **connection)
        self.kinds = options.kinds
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

    def push(self, episode: EpisodeRef, segments: Iterable[Segment]) -> PushResult:
        if self._has_plugin is None or (not self._has_plugin and self.clock() - self._probed_at >= _REPROBE_S):
            self.probe()
        elif not self._has_plugin:
            raise PluginMissingError(self._missing())
        wanted = pushed(segments, self.kinds)
        return self.run(episode, lambda key: self._push(key, wanted))

    def _push(self, item_id: str, segments: tuple[Segment, ...]) -> PushResult:
        """Per kind: its markers left as they are when they are what the segment gives, else taken off (in one call,
        by their indexes in the list just read) and the segment's added."""
        chapters = self._chapters(item_id)
        remove: list[dict[str, Any]] = []
        add: list[tuple[tuple[str, int], float]] = []
        before = False
        for kind in self.kinds:
            markers = _MARKERS[kind]
            have = [c for c in chapters if _marker(c) in {m for m, _ in markers}]
            before = before or bool(have)
            segment = single(segments, kind)
            want = [(m, segment.start_s if at == "start" else segment.end_s) for m, at in markers] if segment else []
            if not _same(have, want):
                remove += have
                add += want
        if not remove and not add:
            return PushResult(self.name, PushAction.UNCHANGED, f"item {item_id}")
        if remove:
            indexes = ",".join(str(int(c["Index"])) for c in remove)
            self._update(item_id, {"action": "remove", "index_list": indexes})
        for marker, seconds in add:
            self._update(item_id, {"action": "add", "type": _TYPES[marker], "time": _timespan(seconds)})
        return PushResult(self.name, outcome(before, bool(segments)), f"item {item_id}")

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
    for marker in _TYPES:
        if value in marker:
            return marker
    return None


def _same(have: list[dict[str, Any]], want: list[tuple[tuple[str, int], float]]) -> bool:
    """The markers there are exactly those wanted (one each), to the millisecond."""
    if len(have) != len(want):
        return False
    by_marker = {_marker(c): int(c["StartPositionTicks"]) for c in have}
    return len(by_marker) == len(have) and all(
        marker in by_marker and abs(by_marker[marker] - to_ticks(seconds)) <= _TICK_TOLERANCE
        for marker, seconds in want
    )


def _timespan(seconds: float) -> str:
    """`hh:mm:ss.fff`, which .NET's TimeSpan.TryParse reads exactly to the millisecond."""
    total_ms = round(seconds * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


KIND = Kind(
    parse=_parse,
    build=lambda name, options, wiring: EmbyPublisher(name, options, session=wiring.new_session()),
    represents=REPRESENTS,
    cannot="Emby's chapter markers are IntroStart, IntroEnd and CreditsStart: none for a recap or a preview",
)
