"""The one interface every publisher implements, and the plain data it exchanges."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from detector.result import Intro


@dataclass(frozen=True)
class EpisodeRef:
    path: Path  # as the daemon sees it; publishers map it to the server's view themselves
    duration_s: float  # of the whole file


class PushAction(StrEnum):
    CREATED = "created"  # no marker of ours was there
    REPLACED = "replaced"  # an older marker was replaced
    REMOVED = "removed"  # intro is None and our marker was taken away
    UNCHANGED = "unchanged"  # the target already had exactly this
    SKIPPED = "skipped"  # nothing this target can do (said why in `detail`)


@dataclass(frozen=True)
class PushResult:
    target: str
    action: PushAction
    detail: str = ""
    # The media file itself was rewritten (Matroska chapters): its size and mtime changed because of us, not
    # because the episode did, which the daemon must not take for a new file to detect again.
    file_changed: bool = False


class Publisher(Protocol):
    """Where markers go. `push` is idempotent: the same intro pushed twice changes nothing the second time."""

    name: str  # the target's name in the config file
    kind: str  # "jellyfin", "emby", "plex", "kodi", "matroska"

    def probe(self) -> None:
        """Check reachability, credentials and plugins at start; raise a `PublishError` subclass if not."""

    def push(self, episode: EpisodeRef, intro: Intro | None) -> PushResult:
        """Write `intro` for the episode (None: remove our marker where that makes sense)."""
        ...


TICKS_PER_SECOND = 10_000_000  # .NET ticks (Jellyfin, Emby): 100 ns


def to_ticks(seconds: float) -> int:
    return round(seconds * TICKS_PER_SECOND)


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)
