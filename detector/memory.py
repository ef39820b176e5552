"""What a detection may take of memory: an estimate made before decoding, and a ceiling checked while it runs.

The analysed span is at most MAX_ANALYSED_S and its audio and pictures are consumed as they are decoded
(detector.features), so what grows with the span is what is kept of them: the log-mel (12.8 kB a second) and the
pictures' embeddings (2 kB a second for each of at most two networks). The rest is the decoder's frames, which grow
with the picture's size, and the network's working memory, which the model bounds by running in chunks. The estimate errs high: a refused file is said as such,
an out-of-memory kill takes the service down.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from pathlib import Path

from detector.errors import MemoryLimitError

# Measured on the files of `python -m bench.bench_memory` (peak RSS over the RSS before the detection): 105 MB
# for a 90 s span, 112 MB for 1320 s, 119 MB for 1800 s, at 320x180. The base includes scikit-learn (~65 MB),
# which the first detection imports after its network has run (detector.intervals). A little is added to each.
BASE_NEED_MB = 110.0
NEED_PER_SECOND_MB = 0.02
DECODER_FRAMES = 16  # decoded pictures the decoder holds at once (references, frame threads)
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def resident_mb() -> float:
    """This process's resident memory (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * _PAGE_BYTES / 2**20


def need_mb(n_seconds: int, width: int = 0, height: int = 0) -> float:
    """What analysing `n_seconds` of a `width` x `height` video adds to the process, about, at most."""
    decoder_mb = width * height * 1.5 * DECODER_FRAMES / 2**20  # 4:2:0, 8 bits (10 bits: twice, still covered)
    return BASE_NEED_MB + NEED_PER_SECOND_MB * n_seconds + 2 * decoder_mb


@dataclass(frozen=True)
class MemoryCeiling:
    """The process's resident memory must stay under `limit_mb` (worker.memory_limit_mb)."""

    limit_mb: float

    def admit(self, path: Path, n_seconds: int, width: int, height: int) -> None:
        """Before decoding: raise MemoryLimitError when this file would take the process over the ceiling."""
        in_use, need = resident_mb(), need_mb(n_seconds, width, height)
        if in_use + need > self.limit_mb:
            raise MemoryLimitError(
                path,
                f"analysing it ({n_seconds} s of {width}x{height}) needs about {need:.0f} MB on top of the "
                f"{in_use:.0f} MB in use, over the memory ceiling of {self.limit_mb:.0f} MB "
                "(worker.memory_limit_mb); raise it to analyse this file",
            )

    def check(self, path: Path) -> None:
        """While decoding: raise MemoryLimitError when the process is over the ceiling."""
        in_use = resident_mb()
        if in_use > self.limit_mb:
            raise MemoryLimitError(
                path,
                f"went over the memory ceiling of {self.limit_mb:.0f} MB (worker.memory_limit_mb) while "
                f"analysing it ({in_use:.0f} MB in use); raise it to analyse this file",
            )


_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # glibc's mallopt parameters (malloc.h)


def release_freed_memory_promptly() -> None:
    """Ask glibc to give freed buffers back to the system at once: blocks of 4 MB and more are mapped on their
    own (unmapped when freed) rather than carved from heaps that only ever grow, and threads share 2 heaps.
    Without it, what a detection freed stays resident and the next one's peak adds to it (a lone 44-minute 1080p
    detection peaked at 510-520 MB without, ~440 MB with; 2 heaps alone, ~500 MB). The threshold trades memory for
    time, as every numpy temporary above it is mapped and zeroed afresh: from 64 kB (as before) and from 1 MB the
    peak was ~428 MB and a season episode's cascade 25 % and 8 % slower than from 4 MB. Elsewhere: nothing."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 4 * 1024 * 1024)
    mallopt(_M_ARENA_MAX, 2)
