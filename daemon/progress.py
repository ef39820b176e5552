"""A progress bar with an ETA, on stderr: redrawn in place on a terminal, one line per step otherwise (logs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24


def clock_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
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
        eta_text = clock_text(eta) if eta is not None else "-:--:--"
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
