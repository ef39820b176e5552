"""The secrets this process holds, and text with every one of them blanked out.

A `Secret` (daemon/publish/credentials.py) adds its value here when it is made, so whatever reads a key (start,
a SIGHUP reload, a command) is covered without being told; keys replaced by a reload stay, which costs nothing.
The log handler (daemon/cli.py) and the errors stored with a push (daemon/publish/pusher.py) go through `redact`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"

_lock = threading.Lock()
# Every form of every secret, longest first. Replaced, never changed in place: log calls read it unlocked.
_known_forms: tuple[str, ...] = ()


def remember(secret: str) -> None:
    global _known_forms
    with _lock:
        _known_forms = _longest_first(set(_known_forms) | forms(secret))


def forms(secret: str) -> set[str]:
    """The ways a secret shows up in text: as it is, URL-encoded (a query string, a redirect), and escaped the way
    `repr` and JSON write it (an exception's message, a response body)."""
    if not secret:
        return set()
    escaped = repr(secret)[1:-1]
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), escaped, json.dumps(secret)[1:-1]}


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every form of `secrets` (default: every secret this process holds) replaced by `***`."""
    found = _known_forms if secrets is None else _longest_first({f for s in secrets for f in forms(s)})
    for form in found:
        text = text.replace(form, MASK)
    return text


def _longest_first(found: set[str]) -> tuple[str, ...]:
    return tuple(sorted(found, key=len, reverse=True))  # a form may contain a shorter one
