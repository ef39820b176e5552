"""What a detection returns. Plain frozen data, shared by the detector, the daemon and the publishers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# What can be an intro. Title sequences run from a few seconds to about two minutes (Intro Skipper rejects anything
# over 120 s); 180 s leaves room for the longest. A longer "intro" is a skip over story: none is better. On an episode
# of 12 minutes or more this also means a repeated run over most of the analysed half is never an intro; a share of
# the span is not used as a bound, since short episodes (and the corpus's) can hold an intro filling their first half.
MAX_INTRO_S = 180.0
# Where the analysed span (the first half) ends however long the file: memory and time stay those of a one-hour
# episode for a six-hour recording. Late title sequences are known at 11:00 (Twilight Zone, 2019) and after 20:30
# (Evil); Intro Skipper reads 10 min.
MAX_ANALYSED_S = 1800


@dataclass(frozen=True)
class Intro:
    start_s: float
    end_s: float
    confidence: float  # 0..1

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Detection:
    path: Path
    duration_s: float  # of the whole file
    intro: Intro | None  # None: the episode has no intro
    model_version: str
    # Per-second intro probability over the analysed part (the first half), index = second.
    scores: tuple[float, ...] = field(default=(), repr=False)
    # Which evidence produced the result, e.g. ("network",) or ("network", "repetition"); "copies": other copies of
    # this episode in its season were left out of its season context.
    signals: tuple[str, ...] = ()
    # Where it was computed: the name of the cluster worker (daemon/cluster/); empty: in this process.
    computed_by: str = ""
