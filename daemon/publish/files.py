"""Writing next to media files: atomically, so a player never reads half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, *, like: Path | None = None) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename.

    The new file gets the read/write bits of `like` (the video), so whoever can read the video (Kodi over SMB,
    another user) can read it too; temp files are created 0600.
    """
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if like is not None:
            os.chmod(temp, like.stat().st_mode & 0o666)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
