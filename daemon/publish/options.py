"""Typed options per target kind, built by `daemon.publish.config` from the config file's raw tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from daemon.publish.credentials import Secret
from daemon.publish.pathmap import PathMap


@dataclass(frozen=True)
class ServerOptions:
    url: str
    secret: Secret  # Jellyfin/Emby API key, Plex token
    path_map: PathMap = field(default_factory=PathMap)
    timeout_s: float = 10.0
    verify_tls: bool | str = True  # True, False, or a CA bundle path
    page_size: int = 500  # items per request when listing the library


@dataclass(frozen=True)
class JellyfinOptions:
    server: ServerOptions
    # False: this target only serves a matroska target's `refresh_jellyfin` (no plugin needed).
    write_segments: bool = True


@dataclass(frozen=True)
class EmbyOptions:
    server: ServerOptions


@dataclass(frozen=True)
class PlexOptions:
    server: ServerOptions
    client_id: str = "intro-daemon"  # X-Plex-Client-Identifier
    # The spec types `type` as an integer without listing the codes; 0 follows the order of its response enum
    # (intro, commercial, bookmark, resume, credit). Unverified against a real server, hence configurable.
    marker_type: int = 0


@dataclass(frozen=True)
class KodiOptions:
    action: int = 3  # 3: commercial break, skipped once automatically; 2: scene marker; 0: cut; 1: mute


@dataclass(frozen=True)
class MatroskaOptions:
    mkvpropedit: str = "mkvpropedit"
    overwrite_chapters: bool = False  # replace chapters the daemon did not write
    refresh_jellyfin: str | None = None  # name of a jellyfin target to re-probe the item and run its segment scan
