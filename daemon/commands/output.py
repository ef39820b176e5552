"""What the commands print besides plain lines: times as clocks, per-second scores as a sparkline with the intro
marked under it, a progress bar with an ETA, and the words for each kind of segment."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TextIO

# "N episodes with ...": how `status` and `rescan` name each kind of segment besides the intro, in time order.
WITH_KIND = {"recap": "a recap", "credits": "credits", "preview": "a preview"}
BLOCKS = " ▁▂▃▄▅▆▇█"  # index 0 (a blank) for exactly zero, so silence reads as empty
BAR_WIDTH = 24


def clock(seconds: float, *, hours: bool = False, tenths: bool = False) -> str:
    """A time as a clock: 1:05, or 1:02:03 from an hour on (always with `hours`); `tenths`: 1:05.3.
    Negative times read as zero."""
    if tenths:
        m, s = divmod(max(0.0, seconds), 60)
        return f"{int(m)}:{s:04.1f}"
    whole = max(0, round(seconds))
    if hours or whole >= 3600:
        return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"{whole // 60}:{whole % 60:02d}"


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


class Progress:
    """A progress bar with an ETA: redrawn in place on a terminal, one line per step otherwise (logs)."""

    def __init__(self, total: int, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self._stream = stream
        self._clock = clock
        self._started = clock()
        self._tty = stream.isatty()

    def line(self, label: str = "") -> str:
        fraction = self.done / self.total if self.total else 1.0
        filled = round(BAR_WIDTH * fraction)
        elapsed = self._clock() - self._started
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        eta_text = clock(eta, hours=True) if eta is not None else "-:--:--"
        width = len(str(self.total))
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done:{width}d}/{self.total} "
            f"{fraction:4.0%} ETA {eta_text} {label}"
        ).rstrip()

    def step(self, label: str = "") -> None:
        self.done += 1
        text = self.line(label)
        if self._tty:
            self._stream.write("\r\x1b[K" + text)
            if self.done == self.total:
                self._stream.write("\n")
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def elapsed_s(self) -> float:
        return self._clock() - self._started
