"""What material a corpus can be composed from, and the train/validation partition of it.

A catalog is plain data (ids and durations); `corpus.material` turns ids into samples and pictures. Keeping it
pure lets the composition be planned, tested and reproduced without touching a media file.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

Split = Literal["train", "val"]
SPLITS: tuple[Split, ...] = ("train", "val")

# Room-noise beds are synthesized in both modes: ids NOISE_PREFIX + a number, each NOISE_TRACK_S long.
NOISE_PREFIX = "noise/"
NOISE_TRACK_S = 60.0

# One key in VAL_EVERY (by stable-hash rank, within each group) is held out for validation.
VAL_EVERY = 3


@dataclass(frozen=True)
class Track:
    """A piece of music. `group` is its album/composer: a show's score comes from its theme's group."""

    id: str
    duration_s: float
    group: str
    loudness_db: tuple[float, ...] = ()  # RMS per second, to cut themes from loud passages; empty = unknown
    split: Split | None = None  # fixed by its package (see `partition`); None = split by rank within its group


@dataclass(frozen=True)
class Line:
    """One spoken line by `voice`."""

    id: str
    duration_s: float
    voice: str


@dataclass(frozen=True)
class Catalog:
    music: tuple[Track, ...]
    lines: tuple[Line, ...]
    photos: tuple[str, ...]

    def voices(self) -> tuple[str, ...]:
        return tuple(sorted({line.voice for line in self.lines}))

    def lines_by_voice(self) -> dict[str, tuple[Line, ...]]:
        by_voice: dict[str, list[Line]] = defaultdict(list)
        for line in self.lines:
            by_voice[line.voice].append(line)
        return {voice: tuple(lines) for voice, lines in by_voice.items()}


def stable_hash(key: str) -> int:
    """A hash that is the same in every process and Python version (unlike `hash`)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")


def split_of_keys(keys: Iterable[str]) -> dict[str, Split]:
    """Assign each key to train or val: sort by stable hash, every VAL_EVERY-th (from the 2nd) goes to val.

    Rank-based rather than a hash threshold so that even a group of 2-3 keys gives both splits something.
    """
    ranked = sorted(set(keys), key=lambda k: (stable_hash(k), k))
    return {k: ("val" if i % VAL_EVERY == 1 else "train") for i, k in enumerate(ranked)}


T = TypeVar("T")


def _partition(items: Sequence[T], key: Callable[[T], str], group: Callable[[T], str], split: Split) -> list[T]:
    by_group: dict[str, list[T]] = defaultdict(list)
    for item in items:
        by_group[group(item)].append(item)
    chosen: list[T] = []
    for members in by_group.values():
        assignment = split_of_keys(key(m) for m in members)
        chosen.extend(m for m in members if assignment[key(m)] == split)
    return chosen


def photo_group(photo_id: str) -> str:
    """Ids are paths whose first part is the source package (or "synth")."""
    return photo_id.split("/", 1)[0]


def partition(catalog: Catalog, split: Split) -> Catalog:
    """The part of `catalog` reserved for `split`; train and val never share a track, a voice or a photo.

    Music is split by track within each group (album), voices as a whole (all lines of a voice go to one
    side), photos by photo within each source package, so both sides get every kind of material.

    A track whose package fixes its split goes only to that side. Material added after held-out corpora were
    built is added to training this way, so that rebuilding a held-out corpus from its seed gives the same one.
    """
    ranked = [t for t in catalog.music if t.split is None]
    fixed = [t for t in catalog.music if t.split == split]
    music = _partition(ranked, lambda t: t.id, lambda t: t.group, split) + fixed
    voice_group = {line.voice: line.voice.split(":", 1)[0] for line in catalog.lines}
    voices = set(_partition(sorted(voice_group), lambda v: v, lambda v: voice_group[v], split))
    lines = [line for line in catalog.lines if line.voice in voices]
    photos = _partition(catalog.photos, lambda p: p, photo_group, split)
    return Catalog(music=tuple(music), lines=tuple(lines), photos=tuple(photos))
