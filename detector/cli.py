"""`detect`, `eval` and `train` subcommands (registered into `intro-daemon` by daemon/cli.py)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from detector.errors import DecodeError
from detector.media import VIDEO_EXTENSIONS
from detector.result import Detection

if TYPE_CHECKING:
    from detector.inference import Detector

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    detect = sub.add_parser("detect", help="find the intro of episodes (a folder is one season)")
    detect.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    detect.add_argument("--json", action="store_true", help="one JSON object per line")
    _model_arguments(detect)
    detect.set_defaults(func=run_detect)

    evaluate = sub.add_parser("eval", help="accuracy on a labelled corpus (truth.json)")
    evaluate.add_argument("root", type=Path, metavar="ROOT")
    evaluate.add_argument("--truth", type=Path, default=None, help="truth file (default: ROOT/truth.json)")
    _model_arguments(evaluate)
    evaluate.add_argument("--lone", action="store_true", help="detect every episode alone, without its siblings")
    evaluate.add_argument("--episodes", action="store_true", help="also one line per episode: truth, marked, verdict")
    evaluate.set_defaults(func=run_eval)

    # The trainer owns its options (python -m detector.train takes the same); handing it the rest of the command
    # line keeps torch out of every other command's start-up, `--help` included.
    train_parser = sub.add_parser(
        "train", help="train the network on a labelled corpus (train --help: its options)", add_help=False
    )
    train_parser.set_defaults(func=run_train, passes_on_arguments=True)


def run_train(args: argparse.Namespace) -> int:
    from detector import train

    return train.main(args.rest, prog="intro-daemon train")


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    from detector.weights import DEFAULT_MODEL, MODELS

    parser.add_argument(
        "--model",
        choices=sorted(MODELS),
        default=DEFAULT_MODEL,
        help=f"shipped model: seed = the seed design alone, season = fused with cross-episode repetition "
        f"(default: {DEFAULT_MODEL})",
    )
    parser.add_argument("--weights", type=Path, default=None, help="a weights file instead of a shipped model")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument(
        "--frame-mode",
        choices=("all", "reference", "keyframes"),
        default=None,
        help="pictures: every second's exact frame; skip non-reference frames (half the decoding, same accuracy: "
        "the default); or the last key frame (7x faster, less accurate)",
    )
    parser.add_argument(
        "--no-cuts",
        action="store_true",
        help="leave the intro's ends where the network or the sound put them (the seed design's DBSCAN ends) instead "
        "of moving them to the shot cut next to them",
    )


def _load_detector(args: argparse.Namespace) -> Detector:
    from detector.decode import FrameMode
    from detector.inference import Detector
    from detector.weights import MODELS

    frame_mode = FrameMode(args.frame_mode) if args.frame_mode else None
    return Detector.load(
        args.weights or MODELS[args.model], threads=args.threads, frame_mode=frame_mode, snap_to_cuts=not args.no_cuts
    )


def season_groups(paths: Sequence[Path]) -> Iterator[tuple[list[Path], list[Path]]]:
    """(episodes to detect, other episodes of their season) for each season named: a folder is searched for
    video files (each folder found is one season); a file is one episode, its folder's other videos its siblings."""
    for path in paths:
        if path.is_dir():
            by_folder: dict[Path, list[Path]] = {}
            for f in sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()):
                by_folder.setdefault(f.parent, []).append(f)
            for group in by_folder.values():
                yield group, []
        else:
            folder = path.parent
            others = (
                sorted(
                    p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS and p != path and p.is_file()
                )
                if folder.is_dir()
                else []
            )
            yield [path], others


def detect_all(detector: Detector, targets: list[Path], others: list[Path]) -> Iterator[tuple[Path, Detection | str]]:
    """Detections in order, or the error message of a file that failed; a failure never stops the rest."""
    try:
        if others or len(targets) == 1:
            results: Iterable[tuple[Path, Detection | DecodeError]] = ((t, detector.detect(t, others)) for t in targets)
        else:
            results = detector.detect_season(targets)
        for path, result in results:
            yield path, result.cause if isinstance(result, DecodeError) else result
    except DecodeError as exc:
        yield exc.path, exc.cause


def _json_line(path: Path, detection: Detection | None, error: str | None) -> str:
    intro = None
    if detection is not None and detection.intro is not None:
        i = detection.intro
        intro = {"start": round(i.start_s, 2), "end": round(i.end_s, 2), "confidence": round(i.confidence, 3)}
    return json.dumps({"path": str(path), "intro": intro, "error": error})


def _text_line(path: Path, detection: Detection | None, error: str | None) -> str:
    if error is not None:
        return f"{path}: error: {error}"
    assert detection is not None
    if detection.intro is None:
        return f"{path}: no intro"
    i = detection.intro
    return (
        f"{path}: intro {_clock(i.start_s)} - {_clock(i.end_s)} ({i.duration_s:.0f} s, confidence {i.confidence:.2f})"
    )


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f}"


def run_detect(args: argparse.Namespace) -> int:
    detector = _load_detector(args)
    failed = 0
    for targets, others in season_groups(args.paths):
        for path, result in detect_all(detector, targets, others):
            detection, error = (result, None) if isinstance(result, Detection) else (None, result)
            failed += error is not None
            line = _json_line(path, detection, error) if args.json else _text_line(path, detection, error)
            print(line, flush=True)
    if not args.json and failed:
        print(f"{failed} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


def run_eval(args: argparse.Namespace) -> int:
    from detector.evaluation import episode_lines, report_lines, run_corpus
    from detector.labels import load_truth

    detector = _load_detector(args)
    started = time.monotonic()
    labelled = run_corpus(detector, args.root, load_truth(args.truth or args.root), lone=args.lone)
    mode = "each episode alone" if args.lone else "seasons"
    print(f"model {detector.model_version} on {args.root}, {mode} ({time.monotonic() - started:.0f} s)")
    for line in report_lines(labelled) + (episode_lines(labelled) if args.episodes else []):
        print(line)
    return 0
