"""The one interface every publisher implements, and the plain data it exchanges."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from detector.result import SEGMENT_KINDS, Segment


@dataclass(frozen=True)
class EpisodeRef:
    path: Path  # as the daemon sees it; publishers map it to the server's view themselves
    duration_s: float  # of the whole file


class PushAction(StrEnum):
    CREATED = "created"  # no marker of ours was there
    REPLACED = "replaced"  # markers of ours were there and changed (one replaced, added or taken away)
    REMOVED = "removed"  # the set was empty (or held nothing this target takes) and ours were taken away
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
    """Where markers go. `push` is idempotent: the same set pushed twice changes nothing the second time."""

    name: str  # the target's name in the config file
    kind: str  # "jellyfin", "emby", "plex", "plex_db", "kodi", "matroska"

    @property
    def kinds(self) -> tuple[str, ...]:
        """The segment kinds it pushes (its `kinds` option), each one it can represent."""
        ...

    def probe(self) -> None:
        """Check reachability, credentials and plugins at start; raise a `PublishError` subclass if not."""

    def push(self, episode: EpisodeRef, segments: Iterable[Segment]) -> PushResult:
        """Make the target's markers of our `kinds` the episode's `segments`: the whole set, so a kind missing
        from it is taken off where the target's route can (an empty set removes all of ours). Segments of a
        kind outside `kinds` are not this target's: ignored."""
        ...


def pushed(segments: Iterable[Segment], kinds: Iterable[str]) -> tuple[Segment, ...]:
    """The segments of `kinds`, in time order."""
    wanted = set(kinds)
    return tuple(sorted((s for s in segments if s.kind in wanted), key=_order))


def single(segments: Iterable[Segment], kind: str) -> Segment | None:
    """The one segment of `kind`, for a target that holds one marker per kind. The detector finds at most one of
    each; should there be more, the kinds that open an episode (recap, intro) take the first, those that close it
    (credits, preview) the last: the final credits, where "next episode" belongs."""
    found = [s for s in sorted(segments, key=_order) if s.kind == kind]
    if not found:
        return None
    return found[-1] if kind in ("credits", "preview") else found[0]


def outcome(before: bool, after: bool) -> PushAction:
    """What a push that changed something did, from whether markers of ours were there before and after it."""
    if not after:
        return PushAction.REMOVED
    return PushAction.REPLACED if before else PushAction.CREATED


def _order(segment: Segment) -> tuple[float, int]:
    return segment.start_s, SEGMENT_KINDS.index(segment.kind)


TICKS_PER_SECOND = 10_000_000  # .NET ticks (Jellyfin, Emby): 100 ns


def to_ticks(seconds: float) -> int:
    return round(seconds * TICKS_PER_SECOND)


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)
