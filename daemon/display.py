"""Text drawings for the terminal: per-second scores as a sparkline, with the intro marked under it."""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"  # index 0 (a blank) for exactly zero, so silence reads as empty


def bucket_size(n: int, width: int) -> int:
    """Seconds per character so that `n` seconds fit in `width` characters."""
    return max(1, math.ceil(n / max(1, width)))


def sparkline(scores: Sequence[float], width: int = 100) -> str:
    """One character per bucket of seconds, its height the bucket's highest score (0..1)."""
    step = bucket_size(len(scores), width)
    chars = []
    for start in range(0, len(scores), step):
        peak = max(0.0, min(1.0, max(scores[start : start + step])))
        chars.append(BLOCKS[math.ceil(peak * (len(BLOCKS) - 1))])
    return "".join(chars)


def span_marker(n: int, start_s: float, end_s: float, width: int = 100) -> str:
    """'^' under the characters the interval covers, aligned with `sparkline(scores, width)` for len(scores) == n."""
    step = bucket_size(n, width)
    cells = math.ceil(n / step)
    first = max(0, min(cells, int(start_s // step)))
    last = max(first, min(cells - 1, int(max(start_s, end_s - 1e-9) // step)))
    return " " * first + "^" * (last - first + 1)


def minutes(seconds: float) -> str:
    """1:05 or 1:02:03."""
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
