"""`intro-daemon eval ROOT`: accuracy of a model on a labelled corpus (truth.json), overall, by tag, by episode."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from daemon.commands.detect import load_detector, model_arguments


def register(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser("eval", help="accuracy on a labelled corpus (truth.json)")
    evaluate.add_argument("root", type=Path, metavar="ROOT")
    evaluate.add_argument("--truth", type=Path, default=None, help="truth file (default: ROOT/truth.json)")
    model_arguments(evaluate)
    evaluate.add_argument("--lone", action="store_true", help="detect every episode alone, without its siblings")
    evaluate.add_argument(
        "--as-new",
        action="store_true",
        help="scan each season, then detect every episode again as a new one whose siblings are stored (the "
        "daemon's case for a new episode, where the cascade decides from the sound)",
    )
    evaluate.add_argument("--episodes", action="store_true", help="also one line per episode: truth, marked, verdict")
    evaluate.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from detector.labels import load_truth
    from detector.training.evaluation import (
        episode_lines,
        report_lines,
        run_corpus,
        segment_episode_lines,
        segment_lines,
    )

    detector = load_detector(args)
    started = time.monotonic()
    labelled = run_corpus(detector, args.root, load_truth(args.truth or args.root), lone=args.lone, as_new=args.as_new)
    mode = "each episode alone" if args.lone else "each episode as new, siblings stored" if args.as_new else "seasons"
    print(f"model {detector.model_version} on {args.root}, {mode} ({time.monotonic() - started:.0f} s)")
    if args.as_new:
        by_sound = sum("sound" in x.signals for x in labelled)
        print(f"decided by the sound (pictures only at the ends): {by_sound} of {len(labelled)} episodes")
    lines = report_lines(labelled) + segment_lines(labelled)
    if args.episodes:
        lines += episode_lines(labelled) + segment_episode_lines(labelled)
    for line in lines:
        print(line)
    return 0
