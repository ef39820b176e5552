"""Path maps: the daemon and a media server often see the same files under different prefixes (containers,
NAS mounts, a Windows server). The first matching pair wins (a target's own maps come before the global ones:
`then`); matching is per path component, never per character."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath

_WINDOWS = re.compile(r"^([A-Za-z]:|\\\\)")


def is_windows_path(path: str) -> bool:
    return bool(_WINDOWS.match(path)) or "\\" in path


def server_key(path: str) -> str:
    """How server paths are compared: Windows paths are case-insensitive and accept either slash."""
    if is_windows_path(path):
        return path.replace("/", "\\").rstrip("\\").casefold()
    return path.rstrip("/") or "/"


@dataclass(frozen=True)
class PathMap:
    # (daemon prefix, server prefix), in the order they are tried.
    pairs: tuple[tuple[PurePosixPath, str], ...] = ()

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str | PurePath, str]]) -> PathMap:
        return cls(tuple((PurePosixPath(daemon), server) for daemon, server in pairs))

    def then(self, other: PathMap) -> PathMap:
        """These pairs first, then `other`'s."""
        return PathMap(self.pairs + other.pairs)

    def to_server(self, path: Path | str) -> str:
        local = PurePosixPath(path)
        for daemon_prefix, server_prefix in self.pairs:
            if local == daemon_prefix or daemon_prefix in local.parents:
                rest = local.relative_to(daemon_prefix).parts
                sep = "\\" if is_windows_path(server_prefix) else "/"
                return server_prefix.rstrip(sep) + sep + sep.join(rest) if rest else server_prefix
        return str(local)
