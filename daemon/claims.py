"""Who holds a claim: "host:pid". A claim whose process is gone (killed during a detection) may be taken back."""

from __future__ import annotations

import os
import socket


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_dead(owner: str) -> bool:
    """True only when the owner certainly no longer runs: same host, no such process."""
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's claim (a shared database): cannot tell, leave it
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by another user
        return False
    return False
