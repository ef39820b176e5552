"""Kodi: a `<video>.edl` sidecar next to the file (xbmc/cores/VideoPlayer/Edl.cpp).

Lines are `start end action`, seconds as floats; `##` starts a comment, which is how our files say they are ours:
an EDL we did not write (Comskip, MCEBuddy, a person) is never overwritten. Kodi reads sidecars only for local or
LAN paths, not for HTTP streams, and the default action 3 (commercial break) is skipped once, automatically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult
from daemon.publish.errors import ForeignFileError, PermanentPublishError
from daemon.publish.files import write_atomically
from daemon.publish.options import Kind, Sources
from detector.result import Intro

log = logging.getLogger(__name__)

OURS = "## intro-daemon"  # first line of every EDL we write
HEADER = f"{OURS}: intro; replaced when the intro is detected again, removed if it goes away\n"


@dataclass(frozen=True)
class KodiOptions:
    action: int = 3  # 3: commercial break, skipped once automatically; 2: scene marker; 0: cut; 1: mute


def _parse(table: Table, _sources: Sources) -> KodiOptions:
    return KodiOptions(action=table.integer("action", KodiOptions.action, minimum=0, maximum=3))


@dataclass(frozen=True)
class EdlEntry:
    start_s: float
    end_s: float
    action: int


def edl_path(video: Path) -> Path:
    return video.with_suffix(".edl")  # same folder, same base name


def render(intro: Intro, action: int) -> str:
    return f"{HEADER}{intro.start_s:.3f}\t{intro.end_s:.3f}\t{action}\n"


def parse(text: str) -> list[EdlEntry]:
    """Our own lines back (seconds only; Kodi also accepts HH:MM:SS.sss and #frames, which we never write)."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and not line.startswith("##"):
            entries.append(EdlEntry(float(fields[0]), float(fields[1]), int(fields[2])))
    return entries


def is_ours(text: str) -> bool:
    return text.startswith(OURS)


class KodiPublisher:
    kind = "kodi"

    def __init__(self, name: str, options: KodiOptions) -> None:
        self.name = name
        self.options = options

    def probe(self) -> None:
        pass  # nothing to reach; a folder we cannot write shows up on the first push

    def push(self, episode: EpisodeRef, intro: Intro | None) -> PushResult:
        path = edl_path(episode.path)
        try:
            current = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            current = None
        except OSError as error:
            raise PermanentPublishError(f"kodi target '{self.name}': cannot read {path}: {error}") from None
        if current is not None and not is_ours(current):
            raise ForeignFileError(f"kodi target '{self.name}': {path} was not written by intro-daemon; left alone")
        if intro is None:
            if current is None:
                return PushResult(self.name, PushAction.UNCHANGED, str(path))
            path.unlink()
            return PushResult(self.name, PushAction.REMOVED, str(path))
        wanted = render(intro, self.options.action)
        if current == wanted:
            return PushResult(self.name, PushAction.UNCHANGED, str(path))
        try:
            write_atomically(path, wanted, like=episode.path)
        except OSError as error:
            raise PermanentPublishError(f"kodi target '{self.name}': cannot write {path}: {error}") from None
        return PushResult(self.name, PushAction.CREATED if current is None else PushAction.REPLACED, str(path))


KIND = Kind(parse=_parse, build=lambda name, options, _wiring: KodiPublisher(name, options))
