"""End to end: `intro-daemon eval` with the shipped weights on a generated, labelled mini season."""

import subprocess
import sys
from pathlib import Path

from detector.labels import load_truth
from detector.training.evaluation import intro_positions


def test_eval_prints_the_report_and_with_episodes_one_line_per_episode(season_media: list[Path]):
    root = season_media[0].parents[2]  # the corpus root: show / season / episode below it
    truths = load_truth(root)
    result = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "eval", "--episodes", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert any(line.startswith("both ends within +-2 s") for line in out)
    assert any(line.startswith(f"episodes                  {len(truths)} ") for line in out)
    for ep in truths:
        (line,) = [x for x in out if x.startswith(f"{ep.path}: truth ")]
        expected = f"{ep.intro.start_s:7.1f}-{ep.intro.end_s:7.1f} s" if ep.intro else "-"
        assert line.startswith(f"{ep.path}: truth {expected}, marked ")
        verdict, signals = line.rsplit(" (", 1)
        assert verdict.endswith(
            ("within +-1 s", "within +-2 s", "within +-3 s", "than 3 s", "MISSED", "FALSE intro", "none marked")
        )
        assert signals.endswith(")") and signals[:-1]  # what decided, e.g. network,repetition,cuts
    # One row per place an intro starts in (the per-position table), counting every episode in at least one.
    rows = {row for ep in truths for row in intro_positions(ep)}
    for row in rows:
        (line,) = [x for x in out if x.startswith(f"  intro {row} ")]
        n = sum(row in intro_positions(ep) for ep in truths)
        assert f" {n} episodes: +-2 s " in line
