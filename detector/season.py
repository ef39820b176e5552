"""Season context: fingerprints of the sibling episodes, computed once per file and kept in a store.

A new episode in a season decodes only itself; its siblings' fingerprints come from the store (the daemon keeps
them in its database; the CLI in memory). A sibling that cannot be decoded is left out, never fatal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from detector.fingerprint import Fingerprints


def file_identity(path: Path) -> str:
    """Path, size and mtime: a file that changes gets a new identity, a moved one keeps its content's results."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


# "S01E03", "s1e3", "S01.E03", "1x03" (the names Sonarr, Jellyfin, Plex and Kodi read), not inside a longer word.
_EPISODE = re.compile(r"(?<![a-z0-9])(?:s(\d{1,4})[ ._-]?e(\d{1,4})|(\d{1,2})x(\d{1,3}))(?!\d)", re.IGNORECASE)


def episode_number(path: Path) -> tuple[int, int] | None:
    """(season, episode) from a file's name, None when the name does not say: where it sits in its show."""
    match = _EPISODE.search(path.stem)
    if match is None:
        return None
    season, episode = (match.group(1), match.group(2)) if match.group(1) is not None else match.group(3, 4)
    return int(season), int(episode)


def placed(path: Path, fingerprints: Fingerprints) -> Fingerprints:
    """The fingerprints with the episode's place in its show (from its name): a recap quotes earlier episodes,
    a preview the next one (detector.segments)."""
    return replace(fingerprints, episode=episode_number(path))


Place = tuple[int, int] | None  # (season, episode), as episode_number reads it


def places(here: Place, others: Sequence[Place]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(len(others),) bool each: the episodes before `here`, the one right after it (the next present), and those
    whose order to it is not known (a name without an episode number, on either side). A recap quotes the first,
    a preview the second; either may quote the third (detector.segments)."""
    n = len(others)
    if here is None:
        return np.zeros(n, bool), np.zeros(n, bool), np.ones(n, bool)
    after = [p for p in others if p is not None and p > here]
    earlier = np.array([p is not None and p < here for p in others], bool)
    following = np.array([bool(after) and p == min(after) for p in others], bool)
    return earlier, following, np.array([p is None for p in others], bool)


class FingerprintStore(Protocol):
    def get(self, path: Path) -> Fingerprints | None: ...

    def put(self, path: Path, fingerprints: Fingerprints) -> None: ...


@runtime_checkable
class AnalysisStore(Protocol):
    """Where an episode's analysis (its embeddings and fingerprints, opaque bytes) waits, while its result is
    not settled, to be decided again without decoding when a sibling arrives (detector.inference)."""

    def get_analysis(self, path: Path) -> bytes | None: ...

    def put_analysis(self, path: Path, data: bytes) -> None: ...

    def drop_analysis(self, path: Path) -> None: ...


class MemoryStore:
    """The CLI's store: fingerprints only (a command ends; nothing arrives later to decide again)."""

    def __init__(self) -> None:
        self._items: dict[str, Fingerprints] = {}

    def get(self, path: Path) -> Fingerprints | None:
        return self._items.get(file_identity(path))

    def put(self, path: Path, fingerprints: Fingerprints) -> None:
        self._items[file_identity(path)] = fingerprints
