"""Target options: what every server kind shares (URL, secret, path map, TLS, timeouts), and `Kind`, how one kind
of target declares its own options and publisher. The kinds are registered by name in `daemon.publish.config`.

Each publisher module keeps its kind's options dataclass and a `KIND`; adding a kind is a new module and one line
in that table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from daemon.config_reader import ConfigError, Table
from daemon.pathmap import PathMap
from daemon.publish.base import Publisher
from daemon.publish.credentials import Secret, read_credential
from detector.result import SEGMENT_KINDS

SessionFactory = Callable[[], requests.Session]


@dataclass(frozen=True)
class ServerOptions:
    url: str
    secret: Secret  # Jellyfin/Emby API key, Plex token
    path_map: PathMap = field(default_factory=PathMap)
    timeout_s: float = 10.0
    verify_tls: bool | str = True  # True, False, or a CA bundle path
    page_size: int = 500  # items per request when listing the library


@dataclass(frozen=True)
class Sources:
    """What parsing a target's options draws on besides its own table."""

    environ: Mapping[str, str]  # for `api_key_env` and systemd credentials
    path_map: PathMap  # the target's own maps, then the global ones


@dataclass(frozen=True)
class Wiring:
    """What building a publisher may need besides its own options."""

    new_session: SessionFactory
    settings: Mapping[str, Any]  # every target's parsed options, by target name


def _pushes(_settings: Any) -> bool:
    return True


def _no_references(_name: str, _settings: Any, _all: Mapping[str, Any]) -> None:
    pass


@dataclass(frozen=True)
class Kind:
    # The target's typed options, a frozen dataclass with a `kinds` field (set from the `kinds` key, see
    # `segment_kinds`); ConfigError names a bad key.
    parse: Callable[[Table, Sources], Any]
    build: Callable[[str, Any, Wiring], Publisher]
    pushes: Callable[[Any], bool] = _pushes  # False: the target only serves another one (gets no push rows)
    check: Callable[[str, Any, Mapping[str, Any]], None] = _no_references  # references to other targets
    # The segment kinds (detector.result.SEGMENT_KINDS) this kind of target can represent, and why not the others.
    represents: tuple[str, ...] = SEGMENT_KINDS
    cannot: str = ""


def segment_kinds(table: Table, kind_name: str, kind: Kind) -> tuple[str, ...]:
    """The `kinds` key: which segment kinds the target gets, by default every one it can represent. A kind it
    cannot represent is a config error that names the target and what it can take, rather than a push that
    quietly leaves that kind out."""
    given = table.str_list("kinds", kind.represents)
    where = table.dotted("kinds")
    unknown = [k for k in given if k not in SEGMENT_KINDS]
    if unknown:
        raise ConfigError(f"{where}: {unknown[0]!r} is no segment kind; the kinds are {', '.join(SEGMENT_KINDS)}")
    if not given:
        raise ConfigError(
            f"{where}: give at least one of {', '.join(kind.represents)} (to push nothing, remove the target)"
        )
    refused = [k for k in given if k not in kind.represents]
    if refused:
        why = f" ({kind.cannot})" if kind.cannot else ""
        raise ConfigError(
            f"{where}: {kind_name} targets cannot represent {' or '.join(refused)}{why}; they can take "
            f"{', '.join(kind.represents)}"
        )
    return tuple(k for k in SEGMENT_KINDS if k in given)  # in episode order, each once


def server_options(table: Table, sources: Sources, *, secret_key: str = "api_key") -> ServerOptions:
    url = table.required_string("url")
    if not url.startswith(("http://", "https://")) or "@" in url.split("//", 1)[1].split("/", 1)[0]:
        raise ConfigError(
            f"{table.dotted('url')}: must be http:// or https://host[:port] without a user or password, "
            f"got {_without_userinfo(url)!r}"
        )
    secret = _secret(table, secret_key, sources.environ)
    ca_file = table.path("ca_file", None)
    verify: bool | str = str(ca_file) if ca_file else table.boolean("verify_tls", True)
    return ServerOptions(
        url=url,
        secret=secret,
        path_map=sources.path_map,
        timeout_s=table.number("timeout_s", ServerOptions.timeout_s, minimum=0.1, maximum=600),
        verify_tls=verify,
        page_size=table.integer("page_size", ServerOptions.page_size, minimum=1, maximum=10_000),
    )


def _without_userinfo(url: str) -> str:
    scheme, _, rest = url.partition("//")
    host, slash, path = rest.partition("/")
    return f"{scheme}//{host.rpartition('@')[2]}{slash}{path}" if "@" in host else url


def _secret(table: Table, key: str, environ: Mapping[str, str]) -> Secret:
    """Exactly one of `<key>` (inline), `<key>_env` (an environment variable), `<key>_credential` (systemd).
    No message shows the value."""
    inline = table.string(key, "", secret=True)
    env_name = table.string(f"{key}_env", "")
    credential = table.string(f"{key}_credential", "")
    given = [k for k, v in ((key, inline), (f"{key}_env", env_name), (f"{key}_credential", credential)) if v]
    if len(given) != 1:
        raise ConfigError(
            f"{table.dotted(key)}: give exactly one of {key}, {key}_env (an environment variable's name) or "
            f"{key}_credential (a systemd credential's name); got {', '.join(given) or 'none'}"
        )
    if inline:
        return _checked(inline.strip(), table.dotted(key))
    if env_name:
        value = environ.get(env_name, "").strip()
        if not value:
            raise ConfigError(f"{table.dotted(key + '_env')}: environment variable {env_name} is not set")
        return _checked(value, table.dotted(key + "_env"))
    value = read_credential(credential, environ) or ""
    if not value:
        raise ConfigError(
            f"{table.dotted(key + '_credential')}: no credential {credential!r} in $CREDENTIALS_DIRECTORY "
            "(systemd: LoadCredential=" + credential + ":/path/to/file)"
        )
    return _checked(value, table.dotted(key + "_credential"))


def _checked(value: str, where: str) -> Secret:
    """Refuse a key no HTTP header can carry: sending it would fail on every push with an error that quotes it."""
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ConfigError(
            f"{where}: the key holds a line break, a space or another character no HTTP header can carry "
            "(not shown here); copy it again"
        )
    return Secret(value)
