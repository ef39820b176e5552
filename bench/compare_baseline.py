"""The Intro Skipper baseline on a labelled corpus, with the detector's metrics (detector/metrics.py).

    python -m bench.compare_baseline ROOT [--truth TRUTH]

Seasons are the folders of the truth file's episodes, as in `intro-daemon eval`. The baseline gives intervals only,
so the per-second Q lines are left out.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.intro_skipper import detect_season
from corpus.truth import EpisodeTruth, load_truth
from detector.metrics import Outcome, Report, evaluate


def baseline_report(root: Path, truth: Sequence[EpisodeTruth]) -> Report:
    by_folder: dict[Path, list[EpisodeTruth]] = {}
    for episode in truth:
        by_folder.setdefault((root / episode.path).parent, []).append(episode)
    outcomes = []
    for episodes in by_folder.values():
        found = detect_season([root / e.path for e in episodes])
        for episode in episodes:
            outcomes.append(
                Outcome(
                    truth=(episode.intro.start_s, episode.intro.end_s) if episode.intro else None,
                    predicted=found[root / episode.path],
                    scores=np.zeros(0, dtype=np.float32),
                )
            )
    return evaluate(outcomes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Jellyfin Intro Skipper's algorithm on a labelled corpus")
    parser.add_argument("root", type=Path, metavar="ROOT")
    parser.add_argument("--truth", type=Path, default=None, help="truth file (default: ROOT/truth.json)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = baseline_report(args.root, load_truth(args.truth or args.root))
    print(f"Intro Skipper baseline on {args.root} ({time.monotonic() - started:.0f} s)")
    for line in report.lines():
        if not line.startswith("Q ("):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
