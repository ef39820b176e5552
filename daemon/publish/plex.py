"""Plex over HTTP: a marker through `/library/metadata/{id}/marker` of Plex's published PMS spec. This does not
give the viewer a "Skip Intro" button; `plex_db.py` does.

What the route gives: the spec documents it as creating a marker "for this user", with an integer `type` whose
codes it does not list, and its DELETE answers "Marker is not a bookmark" for markers Plex made: per-user markers
(bookmarks), as far as anyone has shown, and the intro type is reported to answer 400. What it does not give: the
server-wide intro marker Plex clients turn into "Skip Intro". Those are rows in Plex's library database, written
by Plex's own detection or by tools such as MarkerEditorForPlex (media-server-apis.md, 3.1 and 3.2). No real use of
this target has been shown; it stays so that configs naming `kind = "plex"` still load, and its probe says once
that it gives no Skip Intro. It takes intros only: the integer code of a credits marker is as undocumented as the
intro's, and guessing a second one for a route that shows no skip button helps nobody (`plex_db` takes credits).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, single, to_ms
from daemon.publish.errors import PermanentPublishError
from daemon.publish.options import Kind, ServerOptions, Sources, server_options
from daemon.publish.server import ServerTarget
from detector.result import Segment

log = logging.getLogger(__name__)

EPISODE_TYPE = 4  # Plex's metadata type number for episodes
_MS_TOLERANCE = 1


@dataclass(frozen=True)
class PlexOptions:
    server: ServerOptions
    client_id: str = "intro-daemon"  # X-Plex-Client-Identifier
    # The spec types `type` as an integer without listing the codes; 0 follows the order of its response enum
    # (intro, commercial, bookmark, resume, credit). Unverified against a real server, hence configurable.
    marker_type: int = 0
    kinds: tuple[str, ...] = ("intro",)


def _parse(table: Table, sources: Sources) -> PlexOptions:
    return PlexOptions(
        server_options(table, sources, secret_key="token"),
        client_id=table.string("client_id", PlexOptions.client_id),
        marker_type=table.integer("marker_type", PlexOptions.marker_type, minimum=0),
    )


class PlexPublisher(ServerTarget[PlexOptions]):
    kind = "plex"

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.options.kinds

    def _headers(self) -> dict[str, str]:
        return {
            "X-Plex-Token": self.options.server.secret.reveal(),
            "X-Plex-Client-Identifier": self.options.client_id,
            "X-Plex-Product": "intro-daemon",
        }

    def probe(self) -> None:
        sections = self._show_sections()  # checks the token: 401 is an AuthError
        log.warning(
            "%s: %d TV libraries; markers through Plex's /marker route are per-user markers, which give no Skip "
            'Intro button; use kind = "plex_db" for that (README, Plex)',
            self.http.label,
            len(sections),
        )

    def push(self, episode: EpisodeRef, segments: Iterable[Segment]) -> PushResult:
        intro = single(segments, "intro") if "intro" in self.kinds else None
        return self.run(episode, lambda key: self._push(key, intro))

    def _push(self, rating_key: str, intro: Segment | None) -> PushResult:
        intros = self._intro_markers(rating_key)
        base = f"/library/metadata/{rating_key}/marker"
        if intro is None:
            return self._remove(base, intros, rating_key)
        params = {
            "type": self.options.marker_type,
            "startTimeOffset": to_ms(intro.start_s),
            "endTimeOffset": to_ms(intro.end_s),
        }
        if not intros:
            self.http.request("POST", base, params=params)
            return PushResult(self.name, PushAction.CREATED, f"item {rating_key}")
        current = intros[0]
        if _same(current, params):
            return PushResult(self.name, PushAction.UNCHANGED, f"item {rating_key}")
        self.http.request("PUT", f"{base}/{current['id']}", params=params)
        return PushResult(self.name, PushAction.REPLACED, f"item {rating_key}")

    def _remove(self, base: str, intros: list[dict[str, Any]], rating_key: str) -> PushResult:
        removed = 0
        for marker in intros:
            try:
                self.http.request("DELETE", f"{base}/{marker['id']}")
                removed += 1
            except PermanentPublishError as error:
                # Plex answers 400 "Marker is not a bookmark" for markers its own detection made: they stay.
                log.debug("%s: kept marker %s: %s", self.http.label, marker.get("id"), error)
        action = PushAction.REMOVED if removed else PushAction.UNCHANGED
        return PushResult(self.name, action, f"item {rating_key}")

    def _intro_markers(self, rating_key: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"/library/metadata/{rating_key}", params={"includeMarkers": 1}) or {}
        metadata = (answer.get("MediaContainer") or {}).get("Metadata") or [{}]
        return [m for m in metadata[0].get("Marker") or [] if m.get("type") == "intro"]

    def _show_sections(self) -> list[dict[str, Any]]:
        answer = self.http.get("/library/sections") or {}
        directories = (answer.get("MediaContainer") or {}).get("Directory") or []
        return [d for d in directories if d.get("type") == "show"]

    def _list_episodes(self) -> Iterator[tuple[str, str]]:
        for section in self._show_sections():
            start = 0
            while True:
                answer = self.http.get(
                    f"/library/sections/{section['key']}/all",
                    params={
                        "type": EPISODE_TYPE,
                        "X-Plex-Container-Start": start,
                        "X-Plex-Container-Size": self.options.server.page_size,
                    },
                )
                container = answer.get("MediaContainer") or {}
                episodes = container.get("Metadata") or []
                for item in episodes:
                    for media in item.get("Media") or []:
                        for part in media.get("Part") or []:
                            yield part.get("file") or "", str(item["ratingKey"])
                start += len(episodes)
                total = int(container.get("totalSize", container.get("size", 0)))
                if not episodes or start >= total:
                    break


def _same(marker: dict[str, Any], params: dict[str, int]) -> bool:
    return (
        abs(int(marker.get("startTimeOffset", -1)) - params["startTimeOffset"]) <= _MS_TOLERANCE
        and abs(int(marker.get("endTimeOffset", -1)) - params["endTimeOffset"]) <= _MS_TOLERANCE
    )


KIND = Kind(
    parse=_parse,
    build=lambda name, options, wiring: PlexPublisher(name, options, session=wiring.new_session()),
    represents=("intro",),
    cannot="its marker type codes are undocumented (the intro's is a guess) and it shows no skip button; "
    'kind = "plex_db" takes credits',
)
