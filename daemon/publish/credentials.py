"""API keys and tokens: from the config file, an environment variable, or a systemd credential.
A `Secret` never shows its value, so a config object can be logged or shown without leaking it, and it tells
`daemon.redact` its value, so text that does carry it (a server's answer, an exception) is blanked out when logged
or stored."""

from __future__ import annotations

import logging
import stat
from collections.abc import Mapping
from pathlib import Path

from daemon import redact

log = logging.getLogger(__name__)


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        redact.remember(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def read_credential(name: str, environ: Mapping[str, str]) -> str | None:
    """`$CREDENTIALS_DIRECTORY/<name>` (systemd `LoadCredential=`), stripped of its trailing newline."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    try:
        return (Path(directory) / name).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def warn_if_world_readable(config_path: Path) -> bool:
    """Warn (once per call) when a config file holding secrets can be read by every local user."""
    try:
        mode = config_path.stat().st_mode
    except OSError:
        return False
    if mode & stat.S_IROTH:
        log.warning(
            "%s holds API keys and is readable by every user on this machine; run `chmod o-r %s`, "
            "or move the keys to environment variables or systemd credentials",
            config_path,
            config_path,
        )
        return True
    return False
