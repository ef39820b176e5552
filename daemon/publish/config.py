"""The kinds of target, registered by name, and the publishers built from a config's targets.

`daemon.config` reads each `[[targets]]` table into a `TargetConfig` (name, kind, path_maps, the rest as raw
`options`); the target's kind says what those options may be. `parse_target` is the hook `load_config` calls, so a
bad value stops the daemon at start with the key's name (`targets.<name>.<key>: must be ..., got ...`) and the
typed options are kept in the config, parsed once.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from daemon.config import Config, ConfigError, TargetConfig
from daemon.config_reader import Table
from daemon.pathmap import PathMap
from daemon.publish import emby, jellyfin, kodi, matroska, plex, plex_db
from daemon.publish.base import Publisher
from daemon.publish.credentials import warn_if_world_readable
from daemon.publish.options import Kind, SessionFactory, Sources, Wiring, segment_kinds

KINDS: dict[str, Kind] = {
    "jellyfin": jellyfin.KIND,
    "emby": emby.KIND,
    "plex": plex.KIND,
    "plex_db": plex_db.KIND,
    "kodi": kodi.KIND,
    "matroska": matroska.KIND,
}


def parse_target(target: TargetConfig, config: Config, *, environ: Mapping[str, str] | None = None) -> Any:
    """The `parse_target` hook of `daemon.config.load_config`: the target's typed options; raises `ConfigError`
    for a bad one. Paths are relative to the config file; the target's path maps come before the global ones."""
    return parse_options(
        target,
        environ=os.environ if environ is None else environ,
        base=config.source.parent if config.source else None,
        path_map=target.path_maps.then(config.path_maps),
    )


def parse_options(
    target: TargetConfig,
    *,
    environ: Mapping[str, str],
    base: Path | None = None,
    path_map: PathMap | None = None,
) -> Any:
    table = Table(target.options, f"targets.{target.name}", base or Path.cwd())
    kind = KINDS.get(target.kind)
    if kind is None:
        raise ConfigError(f"targets.{target.name}.kind: must be one of {', '.join(KINDS)}, got {target.kind!r}")
    options = kind.parse(table, Sources(environ, path_map or target.path_maps))
    options = dataclasses.replace(options, kinds=segment_kinds(table, target.kind, kind))
    table.finish()
    return options


def target_settings(config: Config, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every target's typed options by name: as parsed at load, or parsed now. Raises `ConfigError` for a bad
    option or a reference to a target that is not there or of the wrong kind."""
    settings = {
        t.name: t.settings if t.settings is not None else parse_target(t, config, environ=environ)
        for t in config.targets
    }
    for target in config.targets:
        KINDS[target.kind].check(target.name, settings[target.name], settings)
    if config.source is not None and any(_has_inline_secret(t) for t in config.targets):
        warn_if_world_readable(config.source)
    return settings


def push_targets(config: Config) -> list[str]:
    """The targets that get rows in the pushes table (what `db.episodes.store_detection` is given): every one
    but those that only serve another (a jellyfin target with `write_segments = false`). Builds no publisher."""
    settings = target_settings(config)
    return [t.name for t in config.targets if KINDS[t.kind].pushes(settings[t.name])]


def build_publishers(
    config: Config,
    *,
    environ: Mapping[str, str] | None = None,
    session_factory: SessionFactory | None = None,
) -> list[Publisher]:
    """One publisher per target that pushes. Raises `ConfigError` for bad options or a dangling reference."""
    settings = target_settings(config, environ=environ)
    wiring = Wiring(session_factory or requests.Session, settings)
    return [
        KINDS[t.kind].build(t.name, settings[t.name], wiring)
        for t in config.targets
        if KINDS[t.kind].pushes(settings[t.name])
    ]


def _has_inline_secret(target: TargetConfig) -> bool:
    return bool(target.options.get("api_key") or target.options.get("token"))
