"""Season context: fingerprints of the sibling episodes, computed once per file and kept in a store.

A new episode in a season decodes only itself; its siblings' fingerprints come from the store (the daemon keeps
them in its database; the CLI in memory). A sibling that cannot be decoded is left out, never fatal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from detector.fingerprint import Fingerprints


def file_identity(path: Path) -> str:
    """Path, size and mtime: a file that changes gets a new identity, a moved one keeps its content's results."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


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
