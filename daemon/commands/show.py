"""`intro-daemon show PATH`: what is stored for one episode (state, latest result and each segment it found, its
scores, pushes), read-only.

Never prints a secret: targets appear by their name from the pushes table.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from daemon.commands.common import read_only
from daemon.commands.output import clock, span_marker, sparkline
from daemon.config import Config
from db import episodes
from db.models import DetectionRecord, Episode
from db.results import segments_of
from db.scores import decode_scores
from detector.result import LONE_MAX_INTRO_S, MAX_ANALYSED_S, MAX_INTRO_S, Segment

SCORE_WIDTH = 100


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    show = sub.add_parser("show", parents=[parent], help="what is stored for one episode")
    show.add_argument("path", type=Path, metavar="PATH")
    show.set_defaults(func=main)


def _show(args: argparse.Namespace, _config: Config, _engine: Engine, session: Session) -> int:
    path = args.path.expanduser().resolve()
    episode = episodes.get(session, str(path))
    if episode is None:
        print(f"intro-daemon: {path} is not in the database", file=sys.stderr)
        return 1
    print("\n".join(_show_lines(session, episode)))
    return 0


main = read_only(_show)


def _show_lines(session: Session, episode: Episode) -> list[str]:
    lines = [
        episode.path,
        f"  state      {episode.state} (attempts {episode.attempts}, updated {episode.updated_at:%Y-%m-%d %H:%M} UTC)",
        f"  file       {episode.size / 1e6:.1f} MB, modified "
        f"{datetime.fromtimestamp(episode.mtime_ns / 1e9, UTC):%Y-%m-%d %H:%M:%S} UTC",
        f"  season     {episode.season_key}",
    ]
    if episode.last_error:
        lines.append(f"  error      {episode.last_error}")
    detection = episodes.latest_detection(session, episode.id)
    if detection is None:
        lines.append("  detection  none yet")
        return lines
    current = (detection.file_size, detection.file_mtime_ns) == (episode.size, episode.mtime_ns)
    lines.append(
        f"  detection  #{detection.id}, model {detection.model_version}, {detection.created_at:%Y-%m-%d %H:%M} UTC, "
        f"took {detection.elapsed_s:.1f} s" + ("" if current else " (for an older version of the file)")
    )
    lines.append(f"  duration   {clock(detection.duration_s)}")
    lines.extend(_segment_lines(detection))
    if "copies" in detection.signals.split(","):
        lines.append(
            "  copies     other copies of this episode are in its season; they were left out of its season context"
        )
    if "sound" in detection.signals.split(","):
        lines.append(
            "  pictures   decoded only around the intro's ends (shot cuts): the season's repetition decided, and no "
            "network scores could have changed it"
        )
    if "too-long" in detection.signals.split(","):
        lines.append(
            f"  too long   what was found is longer than an intro can be ({clock(MAX_INTRO_S)}; "
            f"{clock(LONE_MAX_INTRO_S)} for the network alone), so no intro is marked"
        )
    if "outside-library" in detection.signals.split(","):
        lines.append(
            "  lone model the shipped one: this episode does not look like the library `intro-daemon adapt` fitted "
            "the active lone model to"
        )
    if "capped" in detection.signals.split(","):
        lines.append(
            f"  analysed   the first {clock(MAX_ANALYSED_S)} only, not the whole first half: the file is that long"
        )
    lines.extend(
        _score_lines(
            detection,
            "share of the siblings repeating it" if "sound" in detection.signals.split(",") else "probability",
        )
    )
    for push in sorted(episode.pushes, key=lambda p: p.target):
        pushed = f", has detection #{push.detection_id}" if push.detection_id else ""
        error = f": {push.last_error}" if push.last_error else ""
        lines.append(f"  push       {push.target}: {push.state} (attempts {push.attempts}{pushed}){error}")
    return lines


def _segment_lines(detection: DetectionRecord) -> list[str]:
    """A line per segment, in time order: the intro as it always was (its evidence is the detection's signals), a
    missing one said where it would come (after a recap), then each other kind with its own evidence."""
    if detection.start_s is not None and detection.end_s is not None:
        intro = (
            f"  intro      {clock(detection.start_s)} - {clock(detection.end_s)} "
            f"({detection.end_s - detection.start_s:.0f} s), confidence {detection.confidence or 0:.2f}, "
            f"from {detection.signals or 'unknown'}"
        )
    else:
        intro = f"  intro      none found (signals: {detection.signals or 'unknown'})"
    lines: list[str] = []
    for segment in segments_of(detection):
        if segment.kind != "recap" and intro not in lines:
            lines.append(intro)
        if segment.kind != "intro":
            lines.append(_other_line(segment))
    return lines if intro in lines else [*lines, intro]


def _other_line(s: Segment) -> str:
    text = (
        f"  {s.kind:<10} {clock(s.start_s)} - {clock(s.end_s)} ({s.duration_s:.0f} s), confidence "
        f"{s.confidence:.2f}, from {','.join(s.signals) or 'unknown'}"
    )
    if s.kind == "credits":
        text += ", final: nothing but credits follows" if s.final else ", not final: the story goes on after them"
    return text


def _score_lines(detection: DetectionRecord, height: str) -> list[str]:
    scores = decode_scores(detection.scores).tolist()
    if not scores:
        return ["  scores     none stored"]
    per_char = -(-len(scores) // SCORE_WIDTH)
    lines = [
        f"  scores     per second, 0:00 - {clock(len(scores))}, one character = {per_char} s, height = {height}",
        "  |" + sparkline(scores, SCORE_WIDTH),
    ]
    # Each segment under the seconds it covers, where it starts within the scored span (the credits seldom do).
    for segment in segments_of(detection):
        if segment.start_s < len(scores):
            marker = span_marker(len(scores), segment.start_s, segment.end_s, SCORE_WIDTH)
            lines.append(f"  |{marker} {segment.kind}")
    return lines
