"""Resident size of this process, from /proc/self/status.

The peak is VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child started by a
parent that once held 800 MB (rendering the bench episode) reports 800 MB whatever it does itself.
"""

from __future__ import annotations

from pathlib import Path


def _status_mb(field: str, pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb(pid: int | str = "self") -> float:
    """The highest resident size the process has had since it started its program."""
    return _status_mb("VmHWM", pid)


def now_mb(pid: int | str = "self") -> float:
    return _status_mb("VmRSS", pid)
