"""Side by side on one labelled corpus, in one run: Jellyfin Intro Skipper's algorithm (the anchor), the seed
design as written (its DBSCAN ends), the seed network with its ends at the nearest shot cut (what a lone episode
gets), and the season model (seed network + cross-episode repetition, the default).

    python -m bench.compare data/val [data/val-xl ...]   (several corpora are pooled into one table)

Also times a new episode in a season whose siblings are already fingerprinted against the same episode alone.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.intro_skipper import detect_season
from detector.inference import Detector
from detector.labels import EpisodeTruth, load_truth
from detector.training.evaluation import Labelled, by_tag, run_corpus, seasons_of
from detector.training.metrics import Prediction, Report, evaluate
from detector.weights import MODELS

TAGS = ("cold_open", "recap", "two_openings", "short_intro", "long_intro", "no_intro")


def baseline(root: Path, truth: Sequence[EpisodeTruth]) -> list[Labelled]:
    by_path = {root / ep.path: ep for ep in truth}
    labelled = []
    for season in seasons_of(root, truth):
        found = detect_season(season)
        for path in season:
            ep = by_path[path]
            truth_span = (ep.intro.start_s, ep.intro.end_s) if ep.intro else None
            labelled.append(Labelled(ep.path, ep.tags, Prediction(truth_span, found[path], np.zeros(0, np.float32))))
    return labelled


def table(columns: dict[str, list[Labelled]]) -> list[str]:
    reports = {name: evaluate([x.outcome for x in rows]) for name, rows in columns.items()}

    def pct(r: Report, field: str) -> str:
        return f"{100 * getattr(r, field):.1f} %"

    rows: list[tuple[str, ...]] = [
        ("", *columns),
        ("episodes", *(str(r.episodes) for r in reports.values())),
        (
            "Q (network, per second)",
            *("-" if np.isnan(r.q_seconds) else f"{r.q_seconds:.4f}" for r in reports.values()),
        ),
        ("Q (marked interval)", *("-" if np.isnan(r.q_interval) else f"{r.q_interval:.4f}" for r in reports.values())),
        ("both ends +-1 s", *(pct(r, "within_1s") for r in reports.values())),
        ("both ends +-2 s", *(pct(r, "within_2s") for r in reports.values())),
        ("both ends +-3 s", *(pct(r, "within_3s") for r in reports.values())),
        ("mean abs start error s", *(f"{r.mae_start_s:.2f}" for r in reports.values())),
        ("mean abs end error s", *(f"{r.mae_end_s:.2f}" for r in reports.values())),
        ("missed intros", *(str(r.missed) for r in reports.values())),
        (
            "false intros",
            *(f"{r.false_intros}/{r.no_intro_episodes}" for r in reports.values()),
        ),
        ("story marked as intro s", *(f"{r.story_marked_s:.0f}" for r in reports.values())),
    ]
    for tag in TAGS:
        parts = {name: by_tag(rows_, tag) for name, rows_ in columns.items()}
        if any(p.episodes for p in parts.values()):
            first = next(iter(parts.values()))
            label = f"{tag} ({first.episodes}) +-1 s"
            if tag == "no_intro":
                rows.append((f"{tag} ({first.episodes}) false", *(str(p.false_intros) for p in parts.values())))
            else:
                rows.append((label, *(pct(p, "within_1s") for p in parts.values())))
    width = max(len(r[0]) for r in rows) + 2
    return [r[0].ljust(width) + "".join(c.rjust(16) for c in r[1:]) for r in rows]


def season_cost(detector: Detector, season: list[Path], repeats: int = 3) -> tuple[float, float]:
    """Median seconds: the last episode alone, and with its siblings already fingerprinted."""
    *siblings, new = season
    for sibling in siblings:
        detector.analyse(sibling)  # stores their fingerprints, as the daemon does once per file
    alone, with_siblings = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        detector.detect(new, [])
        t1 = time.perf_counter()
        detector.detect(new, siblings)
        t2 = time.perf_counter()
        alone.append(t1 - t0)
        with_siblings.append(t2 - t1)
    return statistics.median(alone), statistics.median(with_siblings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", type=Path, nargs="+", metavar="ROOT", help="corpus roots with truth.json")
    parser.add_argument("--no-baseline", action="store_true", help="skip Intro Skipper (needs fpcalc)")
    args = parser.parse_args(argv)
    if not args.no_baseline and shutil.which("fpcalc") is None:
        # Without it every episode would count as a miss of the anchor, a column of zeros that looks like a result.
        parser.error("Intro Skipper needs fpcalc (Debian: apt-get install libchromaprint-tools); or pass --no-baseline")
    seed, season = Detector.load(MODELS["seed"]), Detector.load(MODELS["season"])
    design = Detector.load(MODELS["seed"], snap_to_cuts=False)
    columns: dict[str, list[Labelled]] = {}
    started = time.monotonic()
    for root in args.roots:
        truth = load_truth(root)
        if not args.no_baseline:
            columns.setdefault("Intro Skipper", []).extend(baseline(root, truth))
        columns.setdefault("seed design", []).extend(run_corpus(design, root, truth))
        columns.setdefault("seed + cuts", []).extend(run_corpus(seed, root, truth))
        columns.setdefault("season", []).extend(run_corpus(season, root, truth))
    names = " + ".join(str(root) for root in args.roots)
    print(f"{names}: {len(columns['season'])} episodes; models {seed.model_version}, {season.model_version}")
    for line in table(columns):
        print(line)
    first = args.roots[0]
    alone_s, with_s = season_cost(season, seasons_of(first, load_truth(first))[0])
    print(
        f"new episode, siblings already fingerprinted: {with_s:.2f} s vs alone {alone_s:.2f} s ({with_s / alone_s:.2f}x)"
    )
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
