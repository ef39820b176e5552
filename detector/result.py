"""What a detection returns. Plain frozen data, shared by the detector, the daemon and the publishers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# What can be an intro. Title sequences run from a few seconds to about two minutes (Intro Skipper rejects anything
# over 120 s); 180 s leaves room for the longest. A longer "intro" is a skip over story: none is better. On an episode
# of 12 minutes or more this also means a repeated run over most of the analysed half is never an intro; a share of
# the span is not used as a bound, since short episodes (and the corpus's) can hold an intro filling their first half.
MAX_INTRO_S = 180.0
# What the network alone (no sibling to repeat it) may call an intro: Intro Skipper's bound. Its intervals past two
# minutes were story it heard as a theme: a cold open's synthetic voices from the file's first second on, in episodes
# of another recipe without an intro (docs/evaluation.md). With siblings, repetition shows where an intro ends.
LONE_MAX_INTRO_S = 120.0
# Where the analysed span (the first half) ends however long the file: memory and time stay those of a one-hour
# episode for a six-hour recording. Late title sequences are known at 11:00 (Twilight Zone, 2019) and after 20:30
# (Evil); Intro Skipper reads 10 min.
MAX_ANALYSED_S = 1800
# The ending: the last ENDING_S of an episode, where the credits, a post-credits scene and a preview are (end credits
# run from ~20 s to ~3 min, a preview ~10-60 s, a post-credits scene a minute or two; Intro Skipper's credits window
# is 240 s, 450 s in its newest versions). With the analysed span, the only part of a file read past its first half:
# the middle is story, and its sound costs as much to decode per second as the span's, which is the intro's cost.
ENDING_S = 300.0


@dataclass(frozen=True)
class Intro:
    start_s: float
    end_s: float
    confidence: float  # 0..1

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# The kinds of segment a viewer skips, in the order they come in an episode: "Previously on", the title sequence,
# the end credits, "Next time on". Jellyfin's media segments name them Recap, Intro, Outro, Preview.
SEGMENT_KINDS = ("recap", "intro", "credits", "preview")


@dataclass(frozen=True)
class Segment:
    kind: str  # one of SEGMENT_KINDS
    start_s: float
    end_s: float
    confidence: float  # 0..1
    signals: tuple[str, ...] = ()  # the evidence, e.g. ("repetition", "black-card")
    # Credits only: nothing but credits follows (no post-credits scene): a player may end the episode there (Plex's
    # "final" credits marker, "Next episode").
    final: bool = False

    def __post_init__(self) -> None:
        if self.kind not in SEGMENT_KINDS:
            raise ValueError(f"segment kind {self.kind!r}: expected one of {', '.join(SEGMENT_KINDS)}")
        if not self.end_s > self.start_s >= 0:
            raise ValueError(f"{self.kind} {self.start_s}-{self.end_s} s: expected 0 <= start < end")

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
    # The other kinds found (recap, credits, preview: detector.segments), in time order; the intro stays `intro`.
    others: tuple[Segment, ...] = ()

    def __post_init__(self) -> None:
        # Said where the detection is made: a worker fails that episode, instead of its store failing later.
        if any(s.kind == "intro" for s in self.others):
            raise ValueError(f"{self.path}: an intro in Detection.others (the intro is Detection.intro)")

    @property
    def segments(self) -> tuple[Segment, ...]:
        """Every segment found, the intro included, in time order."""
        found = list(self.others)
        if self.intro is not None:
            found.append(Segment("intro", self.intro.start_s, self.intro.end_s, self.intro.confidence))
        return tuple(sorted(found, key=lambda s: (s.start_s, SEGMENT_KINDS.index(s.kind))))


# A model version reads "<model>[+<lone model>]/<post-processing>" (Detector.model_version). The lone model (the
# shipped seed model, or one `intro-daemon adapt` fitted) decides only the episodes no sibling repeats an intro with.


def without_lone_model(model_version: str) -> str:
    """What of a model version decides an episode with siblings: "<model>/<post-processing>"."""
    models, slash, post = model_version.partition("/")
    return models.split("+", 1)[0] + slash + post


def lone_model_decided(signals: tuple[str, ...] | list[str]) -> bool:
    """Whether the lone model's answer is the result: no sibling repeated its intro (the season's repetition
    decides every other episode, whichever lone model is loaded)."""
    return "repetition" not in signals
