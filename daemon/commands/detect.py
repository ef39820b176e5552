"""`intro-daemon detect PATH...`: the intro of each episode named (a folder is one season), and its other segments
(recap, credits, preview), as text or JSON lines.

Also the model options that `eval` shares."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.commands.output import clock
from detector.media import season_groups
from detector.result import Detection, Segment

if TYPE_CHECKING:
    from detector.inference import Detector


def register(sub: argparse._SubParsersAction) -> None:
    detect = sub.add_parser(
        "detect", help="find the intro, recap, credits and preview of episodes (a folder is one season)"
    )
    detect.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    detect.add_argument("--json", action="store_true", help="one JSON object per line")
    model_arguments(detect)
    detect.set_defaults(func=run_detect)


def model_arguments(parser: argparse.ArgumentParser) -> None:
    from detector.weights import DEFAULT_MODEL, MODELS

    parser.add_argument(
        "--model",
        choices=sorted(MODELS),
        default=DEFAULT_MODEL,
        help=f"shipped model: seed = the seed design alone, season = fused with cross-episode repetition "
        f"(default: {DEFAULT_MODEL})",
    )
    parser.add_argument("--weights", type=Path, default=None, help="a weights file instead of a shipped model")
    parser.add_argument(
        "--lone-weights",
        type=Path,
        default=None,
        help="the season model's lone-episode model: a seed model's weights (one `intro-daemon adapt` kept) instead "
        "of the shipped one",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument(
        "--frame-mode",
        choices=("all", "reference", "keyframes"),
        default=None,
        help="pictures: every second's exact frame; skip non-reference frames (half the decoding, same accuracy: "
        "the default); or the last key frame (7x faster, less accurate)",
    )
    parser.add_argument(
        "--no-cascade",
        action="store_true",
        help="decode every second's picture even when 3 or more siblings are stored and the sound decides, or "
        "for an episode alone, whose key frames say where its intro can be (the full-picture path)",
    )
    parser.add_argument(
        "--no-cuts",
        action="store_true",
        help="leave the intro's ends where the network or the sound put them (the seed design's DBSCAN ends) instead "
        "of moving them to the shot cut next to them",
    )
    parser.add_argument(
        "--no-speech-check",
        action="store_true",
        help="keep an intro found without siblings as the network marked it, even when most of it sounds like "
        "speech around a run of music (by default it is narrowed to the music)",
    )


def load_detector(args: argparse.Namespace) -> Detector:
    """The detector that model_arguments' options describe (imports torch: call it in the handler only)."""
    from detector.decode import FrameMode
    from detector.inference import Detector
    from detector.weights import MODELS

    frame_mode = FrameMode(args.frame_mode) if args.frame_mode else None
    return Detector.load(
        args.weights or MODELS[args.model],
        lone_weights=args.lone_weights,
        threads=args.threads,
        frame_mode=frame_mode,
        snap_to_cuts=not args.no_cuts,
        cascade=not args.no_cascade,
        speech_check=not args.no_speech_check,
    )


def _json_line(path: Path, detection: Detection | None, error: str | None) -> str:
    intro = None
    if detection is not None and detection.intro is not None:
        i = detection.intro
        intro = {"start": round(i.start_s, 2), "end": round(i.end_s, 2), "confidence": round(i.confidence, 3)}
    # "intro" stays as it always was, for the scripts that read it; "segments" holds it again among the others.
    segments = [_segment_json(s) for s in detection.segments] if detection is not None else []
    return json.dumps({"path": str(path), "intro": intro, "segments": segments, "error": error})


def _segment_json(segment: Segment) -> dict[str, object]:
    found: dict[str, object] = {
        "kind": segment.kind,
        "start": round(segment.start_s, 2),
        "end": round(segment.end_s, 2),
        "confidence": round(segment.confidence, 3),
        "signals": list(segment.signals),
    }
    if segment.kind == "credits":  # only credits can be final: the key is there for them alone
        found["final"] = segment.final
    return found


def _text_line(path: Path, detection: Detection | None, error: str | None) -> str:
    if error is not None:
        return f"{path}: error: {error}"
    assert detection is not None
    parts = [_segment_text(s) for s in detection.segments]
    if detection.intro is None:
        parts.insert(0, "no intro")
    return f"{path}: " + "; ".join(parts)


def _segment_text(s: Segment) -> str:
    kind = "final credits" if s.final else s.kind
    evidence = f", from {','.join(s.signals)}" if s.signals else ""
    return (
        f"{kind} {clock(s.start_s, tenths=True)} - {clock(s.end_s, tenths=True)} "
        f"({s.duration_s:.0f} s, confidence {s.confidence:.2f}{evidence})"
    )


def run_detect(args: argparse.Namespace) -> int:
    from detector.inference import detect_all

    detector = load_detector(args)
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
