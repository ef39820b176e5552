"""Typed reads from a parsed TOML table, each error naming the key by its dotted name and what is allowed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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

    def _bad(self, key: str, allowed: str, value: Any, *, secret: bool = False) -> ConfigError:
        got = "a value not shown here (it may be a key)" if secret else repr(value)
        return ConfigError(f"{self.dotted(key)}: must be {allowed}, got {got}")

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

    def _typed(self, key: str, default: Any, allowed: str, ok: Callable[[Any], bool], *, secret: bool = False) -> Any:
        """The value at `key` when `ok(value)`, `default` when there is none; else ConfigError saying `allowed`
        (and what it got, unless the value is a `secret`)."""
        value = self._get(key)
        if value is None:
            return default
        if not ok(value):
            raise self._bad(key, allowed, value, secret=secret)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        return bool(self._typed(key, default, "true or false", lambda v: isinstance(v, bool)))

    def integer(self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        allowed = "an integer" + _range(minimum, maximum)
        return int(self._typed(key, default, allowed, lambda v: _is_int(v) and _within(v, minimum, maximum)))

    def number(self, key: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
        allowed = "a number" + _range(minimum, maximum)
        return float(self._typed(key, default, allowed, lambda v: _is_number(v) and _within(v, minimum, maximum)))

    def string(self, key: str, default: str, *, secret: bool = False) -> str:
        return str(self._typed(key, default, "a string", lambda v: isinstance(v, str), secret=secret))

    def required_string(self, key: str) -> str:
        value = self.string(key, "")
        if not value:
            raise ConfigError(f"{self.dotted(key)}: required, a non-empty string")
        return value

    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        allowed = "an array of non-empty strings"
        return tuple(self._typed(key, default, allowed, lambda v: isinstance(v, list) and all(map(_is_text, v))))

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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML's true is no 1


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


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
