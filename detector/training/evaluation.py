"""Run a detector over a labelled corpus and collect what detector.training.metrics needs: the I/O side of
`intro-daemon eval`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.inference import Detector, detect_all
from detector.labels import EpisodeTruth
from detector.result import SEGMENT_KINDS, Detection
from detector.training.metrics import (
    Prediction,
    Report,
    Segments,
    evaluate,
    kind_report,
    story_marked_s,
    verdict,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Labelled:
    path: str  # as in truth.json
    tags: tuple[str, ...]
    outcome: Prediction
    positions: tuple[str, ...] = ()  # rows of the per-position table this episode counts in (intro_positions)
    signals: tuple[str, ...] = ()  # what produced the result (Detection.signals)
    segments: Segments | None = None  # every kind, in corpora that label them (EpisodeTruth.segments)


# Where an episode's intro starts: the rows of the per-position table (issue 25). An intro can be in two rows
# (four minutes in is both "after 1-5 min" and, in a 12-minute episode, "past 25 %").
POSITION_ROWS = ("at 0 s", "after 1-20 s", "after 20-60 s", "after 1-5 min", "after 5 min", "past 25 %", "none")


def intro_positions(ep: EpisodeTruth) -> tuple[str, ...]:
    if ep.intro is None:
        return ("none",)
    start = ep.intro.start_s
    if start < 1.0:
        rows = ["at 0 s"]
    elif start < 20.0:
        rows = ["after 1-20 s"]
    elif start <= 60.0:
        rows = ["after 20-60 s"]
    elif start <= 300.0:
        rows = ["after 1-5 min"]
    else:
        rows = ["after 5 min"]
    if start > 0.25 * ep.duration_s:
        rows.append("past 25 %")
    return tuple(rows)


def seasons_of(root: Path, truth: Sequence[EpisodeTruth]) -> list[list[Path]]:
    """Episode paths grouped by season folder, in truth order."""
    by_folder: dict[Path, list[Path]] = {}
    for ep in truth:
        path = root / ep.path
        by_folder.setdefault(path.parent, []).append(path)
    return list(by_folder.values())


def run_corpus(
    detector: Detector, root: Path, truth: Sequence[EpisodeTruth], lone: bool = False, as_new: bool = False
) -> list[Labelled]:
    """Every episode detected with its season (or alone); files that fail are logged and left out.
    as_new: each season is scanned first, then every episode is detected again as a new one whose siblings are
    stored (what the daemon does when an episode arrives; the cascade's case), and those results are scored."""
    by_path = {root / ep.path: ep for ep in truth}
    groups = seasons_of(root, truth)
    if lone:
        groups = [[p] for g in groups for p in g]
    labelled = []
    for group in groups:
        results: Iterable[tuple[Path, Detection | str]]
        if as_new:
            list(detect_all(detector, group, []))  # the season's fingerprints, stored
            results = ((p, r) for p in group for _, r in detect_all(detector, [p], [s for s in group if s != p]))
        else:
            results = detect_all(detector, group, [])
        for path, result in results:
            if not isinstance(result, Detection):
                log.error("%s: %s", path, result)
                continue
            ep, i = by_path[path], result.intro
            # Q thresholds the scores of the network that produced them (a lone episode's come from the seed model).
            lone_model = "repetition" not in result.signals and detector.lone_checkpoint is not None
            intervals = (
                detector.lone_checkpoint.intervals if lone_model and detector.lone_checkpoint else detector.intervals
            )
            outcome = Prediction(
                truth=(ep.intro.start_s, ep.intro.end_s) if ep.intro else None,
                predicted=(i.start_s, i.end_s) if i else None,
                scores=np.asarray(result.scores, dtype=np.float32),
                threshold=intervals.threshold,
            )
            segments = _segments(ep, result)
            labelled.append(Labelled(ep.path, ep.tags, outcome, intro_positions(ep), result.signals, segments))
    return labelled


def _segments(ep: EpisodeTruth, result: Detection) -> Segments | None:
    if ep.segments is None:
        return None
    truth = {s.kind: (s.start_s, s.end_s) for s in ep.segments}
    if ep.intro is not None:
        truth["intro"] = (ep.intro.start_s, ep.intro.end_s)
    marked = {s.kind: (s.start_s, s.end_s) for s in result.segments}
    credits = ep.segment("credits")
    found_credits = next((s for s in result.others if s.kind == "credits"), None)
    return Segments(
        truth,
        marked,
        truth_final=credits.final if credits else False,
        marked_final=found_credits.final if found_credits else False,
    )


def segment_lines(labelled: Sequence[Labelled]) -> list[str]:
    """Per kind (recap, intro, credits, preview) on the episodes whose corpus labels every kind, then per tag the
    story marked as any segment (what viewers hate most: a skip that eats the story)."""
    episodes = [x for x in labelled if x.segments is not None]
    if not episodes:
        return []
    lines = [f"segments, {len(episodes)} episodes labelled with every kind:"]
    lines += ["  " + kind_report(kind, [x.segments for x in episodes if x.segments]).line() for kind in SEGMENT_KINDS]
    story = [story_marked_s(x.segments) for x in episodes if x.segments]
    lines.append(f"  story marked as any segment: {np.mean(story):.2f} s per episode (most {max(story):.1f} s)")
    for tag in sorted({t for x in episodes for t in x.tags}):
        part = [story_marked_s(x.segments) for x in episodes if x.segments and tag in x.tags]
        credits = kind_report("credits", [x.segments for x in episodes if x.segments and tag in x.tags])
        lines.append(
            f"  tag {tag:<22} {len(part):>3} episodes: story marked {np.mean(part):5.2f} s/episode, "
            f"credits start +-2 s {credits.start_within_2s * 100:5.1f} % of {credits.with_kind}, "
            f"credits where none {credits.false}"
        )
    return lines


def segment_episode_lines(labelled: Sequence[Labelled]) -> list[str]:
    def spans(d: dict[str, tuple[float, float]]) -> str:
        return " ".join(f"{k} {a:.1f}-{b:.1f}" for k, (a, b) in sorted(d.items(), key=lambda kv: kv[1]))

    return [
        f"{x.path}: truth [{spans(x.segments.truth)}] marked [{spans(x.segments.marked)}]"
        for x in labelled
        if x.segments is not None
    ]


def report_lines(labelled: Sequence[Labelled]) -> list[str]:
    """The overall report, then one line per tag (cold open, recap, ...)."""
    lines = evaluate([x.outcome for x in labelled]).lines()
    for tag in sorted({t for x in labelled for t in x.tags}):
        part = by_tag(labelled, tag)
        lines.append(
            f"  tag {tag:<22} {part.episodes:>3} episodes: +-1 s {100 * part.within_1s:5.1f} %, "
            f"+-3 s {100 * part.within_3s:5.1f} %, missed {part.missed}, false {part.false_intros}"
        )
    for row in POSITION_ROWS:
        outcomes = [x.outcome for x in labelled if row in x.positions]
        if outcomes:
            part = evaluate(outcomes)
            share = part.false_intros / max(1, part.no_intro_episodes) if row == "none" else part.within_2s
            lines.append(
                f"  intro {row:<20} {part.episodes:>3} episodes: +-2 s {100 * part.within_2s:5.1f} %, "
                f"+-1 s {100 * part.within_1s:5.1f} %, missed {part.missed}, false {part.false_intros}"
                + (f" ({100 * share:.1f} % false)" if row == "none" else "")
            )
    return lines


def episode_lines(labelled: Sequence[Labelled]) -> list[str]:
    """One line per episode: the true and the marked interval, the verdict and the signals that decided, to see
    which shows fail and how."""

    def span(x: tuple[float, float] | None) -> str:
        return "-" if x is None else f"{x[0]:7.1f}-{x[1]:7.1f} s"

    return [
        f"{x.path}: truth {span(x.outcome.truth)}, marked {span(x.outcome.predicted)}: {verdict(x.outcome)} "
        f"({','.join(x.signals)})"
        for x in labelled
    ]


def by_tag(labelled: Sequence[Labelled], tag: str) -> Report:
    return evaluate([x.outcome for x in labelled if tag in x.tags])
