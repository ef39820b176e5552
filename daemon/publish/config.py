"""Target options, validated per kind into frozen dataclasses, and the publishers built from them.

`daemon.config` reads each `[[targets]]` table into a `TargetConfig` (name, kind, path_maps, the rest as raw
`options`); this module says what those options may be. `check_target` is the hook `load_config` calls, so a bad
value stops the daemon at start with the key's name: `targets.<name>.<key>: must be ..., got ...`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests

from daemon.config import Config, ConfigError, TargetConfig
from daemon.config_reader import Table
from daemon.publish.base import Publisher
from daemon.publish.credentials import Secret, read_credential, warn_if_world_readable
from daemon.publish.emby import EmbyPublisher
from daemon.publish.jellyfin import JellyfinApi, JellyfinPublisher
from daemon.publish.kodi import KodiPublisher
from daemon.publish.matroska import MatroskaPublisher
from daemon.publish.options import (
    EmbyOptions,
    JellyfinOptions,
    KodiOptions,
    MatroskaOptions,
    PlexOptions,
    ServerOptions,
)
from daemon.publish.pathmap import PathMap
from daemon.publish.plex import PlexPublisher

log = logging.getLogger(__name__)

KINDS = ("jellyfin", "emby", "plex", "kodi", "matroska")
TargetOptions = JellyfinOptions | EmbyOptions | PlexOptions | KodiOptions | MatroskaOptions
SessionFactory = Callable[[], requests.Session]


def check_target(target: TargetConfig) -> None:
    """The `check_target` hook of `daemon.config.load_config`: raises `ConfigError` for a bad option."""
    parse_options(target, environ=os.environ)


def parse_options(
    target: TargetConfig,
    *,
    environ: Mapping[str, str],
    base: Path | None = None,
    path_map: PathMap | None = None,
) -> TargetOptions:
    table = Table(target.options, f"targets.{target.name}", base or Path.cwd())
    if target.kind not in KINDS:
        raise ConfigError(f"targets.{target.name}.kind: must be one of {', '.join(KINDS)}, got {target.kind!r}")
    path_map = path_map or PathMap.from_pairs((m.daemon, m.server) for m in target.path_maps)
    options: TargetOptions
    if target.kind == "kodi":
        options = KodiOptions(action=table.integer("action", KodiOptions.action, minimum=0, maximum=3))
    elif target.kind == "matroska":
        refresh = table.string("refresh_jellyfin", "")
        options = MatroskaOptions(
            mkvpropedit=table.string("mkvpropedit", MatroskaOptions.mkvpropedit),
            overwrite_chapters=table.boolean("overwrite_chapters", MatroskaOptions.overwrite_chapters),
            refresh_jellyfin=refresh or None,
        )
    else:
        options = _server_options(target.kind, table, environ, path_map)
    table.finish()
    return options


def _server_options(
    kind: str, table: Table, environ: Mapping[str, str], path_map: PathMap
) -> JellyfinOptions | EmbyOptions | PlexOptions:
    url = table.required_string("url")
    if not url.startswith(("http://", "https://")) or "@" in url.split("//", 1)[1].split("/", 1)[0]:
        raise ConfigError(
            f"{table.dotted('url')}: must be http:// or https://host[:port] without a user or password, got {url!r}"
        )
    secret = _secret(table, "token" if kind == "plex" else "api_key", environ)
    ca_file = table.path("ca_file", None)
    verify: bool | str = str(ca_file) if ca_file else table.boolean("verify_tls", True)
    server = ServerOptions(
        url=url,
        secret=secret,
        path_map=path_map,
        timeout_s=table.number("timeout_s", ServerOptions.timeout_s, minimum=0.1, maximum=600),
        verify_tls=verify,
        page_size=table.integer("page_size", ServerOptions.page_size, minimum=1, maximum=10_000),
    )
    if kind == "jellyfin":
        return JellyfinOptions(server, write_segments=table.boolean("write_segments", True))
    if kind == "emby":
        return EmbyOptions(server)
    return PlexOptions(
        server,
        client_id=table.string("client_id", PlexOptions.client_id),
        marker_type=table.integer("marker_type", PlexOptions.marker_type, minimum=0),
    )


def _secret(table: Table, key: str, environ: Mapping[str, str]) -> Secret:
    """Exactly one of `<key>` (inline), `<key>_env` (an environment variable), `<key>_credential` (systemd)."""
    inline = table.string(key, "")
    env_name = table.string(f"{key}_env", "")
    credential = table.string(f"{key}_credential", "")
    given = [k for k, v in ((key, inline), (f"{key}_env", env_name), (f"{key}_credential", credential)) if v]
    if len(given) != 1:
        raise ConfigError(
            f"{table.dotted(key)}: give exactly one of {key}, {key}_env (an environment variable's name) or "
            f"{key}_credential (a systemd credential's name); got {', '.join(given) or 'none'}"
        )
    if inline:
        return Secret(inline)
    if env_name:
        value = environ.get(env_name, "").strip()
        if not value:
            raise ConfigError(f"{table.dotted(key + '_env')}: environment variable {env_name} is not set")
        return Secret(value)
    value = read_credential(credential, environ) or ""
    if not value:
        raise ConfigError(
            f"{table.dotted(key + '_credential')}: no credential {credential!r} in $CREDENTIALS_DIRECTORY "
            "(systemd: LoadCredential=" + credential + ":/path/to/file)"
        )
    return Secret(value)


def build_publishers(
    config: Config,
    *,
    environ: Mapping[str, str] | None = None,
    session_factory: SessionFactory | None = None,
) -> list[Publisher]:
    """One publisher per target that pushes (a jellyfin target with `write_segments = false` only serves a
    matroska target's `refresh_jellyfin`). Raises `ConfigError` for bad options or a dangling reference."""
    environ = os.environ if environ is None else environ
    base = config.source.parent if config.source else None
    parsed: dict[str, TargetOptions] = {}
    for target in config.targets:
        path_map = PathMap.from_pairs((m.daemon, m.server) for m in (*target.path_maps, *config.path_maps))
        parsed[target.name] = parse_options(target, environ=environ, base=base, path_map=path_map)
    if config.source is not None and any(_has_inline_secret(t) for t in config.targets):
        warn_if_world_readable(config.source)
    new_session = session_factory or requests.Session
    publishers: list[Publisher] = []
    for target in config.targets:
        options = parsed[target.name]
        if isinstance(options, JellyfinOptions):
            if options.write_segments:
                publishers.append(JellyfinPublisher(target.name, options, session=new_session()))
        elif isinstance(options, EmbyOptions):
            publishers.append(EmbyPublisher(target.name, options, session=new_session()))
        elif isinstance(options, PlexOptions):
            publishers.append(PlexPublisher(target.name, options, session=new_session()))
        elif isinstance(options, KodiOptions):
            publishers.append(KodiPublisher(target.name, options))
        else:
            jellyfin = _refresh_api(target.name, options, parsed, new_session)
            publishers.append(MatroskaPublisher(target.name, options, jellyfin=jellyfin))
    return publishers


def _refresh_api(
    name: str, options: MatroskaOptions, parsed: Mapping[str, TargetOptions], new_session: SessionFactory
) -> JellyfinApi | None:
    if options.refresh_jellyfin is None:
        return None
    other = parsed.get(options.refresh_jellyfin)
    if not isinstance(other, JellyfinOptions):
        jellyfins = [n for n, o in parsed.items() if isinstance(o, JellyfinOptions)]
        raise ConfigError(
            f"targets.{name}.refresh_jellyfin: must name a jellyfin target ({', '.join(jellyfins) or 'none'}), "
            f"got {options.refresh_jellyfin!r}"
        )
    return JellyfinApi(options.refresh_jellyfin, other, session=new_session())


def _has_inline_secret(target: TargetConfig) -> bool:
    return bool(target.options.get("api_key") or target.options.get("token"))


def publisher_names(publishers: Sequence[Publisher]) -> list[str]:
    """The targets that get rows in the pushes table (what `db.episodes.store_detection` is given)."""
    return [p.name for p in publishers]
