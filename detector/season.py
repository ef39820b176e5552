"""Season context: fingerprints of the sibling episodes, computed once per file and kept in a store.

A new episode in a season decodes only itself; its siblings' fingerprints come from the store (the daemon keeps
them in its database; the CLI in memory). A sibling that cannot be decoded is left out, never fatal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from detector.fingerprint import Fingerprints


def file_identity(path: Path) -> str:
    """Path, size and mtime: a file that changes gets a new identity, a moved one keeps its content's results."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class FingerprintStore(Protocol):
    def get(self, path: Path) -> Fingerprints | None: ...

    def put(self, path: Path, fingerprints: Fingerprints) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._items: dict[str, Fingerprints] = {}

    def get(self, path: Path) -> Fingerprints | None:
        return self._items.get(file_identity(path))

    def put(self, path: Path, fingerprints: Fingerprints) -> None:
        self._items[file_identity(path)] = fingerprints
