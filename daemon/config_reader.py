"""Typed reads from a parsed TOML table, each error naming the key by its dotted name and what is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any


class ConfigError(Exception):
    """A config file that cannot be used. The message names the key and what is allowed."""


class Table:
    """One TOML table. Remembers which keys were read so `finish` can reject the rest as unknown."""

    def __init__(self, data: Mapping[str, Any], prefix: str, base: Path) -> None:
        self._data = data
        self._prefix = prefix
        self._base = base  # relative paths are taken relative to the config file's folder
        self._read: set[str] = set()

    def dotted(self, key: str) -> str:
        return f"{self._prefix}.{key}" if self._prefix else key

    def _get(self, key: str) -> Any:
        self._read.add(key)
        return self._data.get(key)

    def _bad(self, key: str, allowed: str, value: Any) -> ConfigError:
        return ConfigError(f"{self.dotted(key)}: must be {allowed}, got {value!r}")

    def table(self, key: str) -> Table:
        value = self._get(key)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self._bad(key, "a table", value)
        return Table(value, self.dotted(key), self._base)

    def table_list(self, key: str) -> list[Table]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self._bad(key, f"an array of tables ([[{self.dotted(key)}]])", value)
        return [Table(v, f"{self.dotted(key)}[{i}]", self._base) for i, v in enumerate(value)]

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._bad(key, "true or false", value)
        return value

    def integer(self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not _within(value, minimum, maximum):
            raise self._bad(key, "an integer" + _range(minimum, maximum), value)
        return value

    def number(self, key: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not _within(value, minimum, maximum):
            raise self._bad(key, "a number" + _range(minimum, maximum), value)
        return float(value)

    def string(self, key: str, default: str) -> str:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._bad(key, "a string", value)
        return value

    def required_string(self, key: str) -> str:
        value = self.string(key, "")
        if not value:
            raise ConfigError(f"{self.dotted(key)}: required, a non-empty string")
        return value

    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._bad(key, "an array of non-empty strings", value)
        return tuple(value)

    def path(self, key: str, default: Path | None) -> Path | None:
        value = self.string(key, "")
        return self._resolve(value) if value else default

    def required_path(self, key: str) -> Path:
        return self._resolve(self.required_string(key))

    def paths(self, key: str, default: tuple[Path, ...]) -> tuple[Path, ...]:
        return tuple(self._resolve(v) for v in self.str_list(key, tuple(str(p) for p in default)))

    def _resolve(self, value: str) -> Path:
        return (self._base / Path(value).expanduser()).resolve()

    def rest(self) -> Mapping[str, Any]:
        """Every key not read yet, read-only: the options a publisher validates."""
        rest = {k: v for k, v in self._data.items() if k not in self._read}
        self._read.update(rest)
        return MappingProxyType(rest)

    def finish(self) -> None:
        unknown = sorted(set(self._data) - self._read)
        if unknown:
            allowed = ", ".join(sorted(self._read)) or "none"
            raise ConfigError(f"{self.dotted(unknown[0])}: unknown key (allowed here: {allowed})")


def _within(value: float, minimum: float | None, maximum: float | None) -> bool:
    return (minimum is None or value >= minimum) and (maximum is None or value <= maximum)


def _range(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f" >= {minimum:g}"
    if maximum is not None:
        return f" <= {maximum:g}"
    return ""
