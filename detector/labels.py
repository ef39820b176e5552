"""The label format: which episode of a labelled corpus has its intro where (`truth.json` at the corpus root), and,
in corpora that label them, its recap, credits and preview.

Training and evaluation read it; the corpus generator (corpus/) writes it. Paths are relative to the corpus root,
so that a corpus can be moved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TRUTH_VERSION = 1
TRUTH_FILE = "truth.json"


@dataclass(frozen=True)
class IntroSpan:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class SegmentSpan:
    kind: str  # "recap", "credits" or "preview" (detector.result.SEGMENT_KINDS; the intro is EpisodeTruth.intro)
    start_s: float
    end_s: float
    final: bool = False  # credits: nothing but credits follows


@dataclass(frozen=True)
class EpisodeTruth:
    path: str  # relative to the corpus root, POSIX separators
    show: str
    season: str
    duration_s: float
    intro: IntroSpan | None
    tags: tuple[str, ...] = ()
    # None: this corpus does not label the other kinds (older corpora); (): labelled, and the episode has none.
    segments: tuple[SegmentSpan, ...] | None = None

    def segment(self, kind: str) -> SegmentSpan | None:
        """The labelled segment of `kind` (None: none, or not labelled)."""
        return next((s for s in self.segments or () if s.kind == kind), None)


def _episode_to_json(ep: EpisodeTruth) -> dict[str, object]:
    intro = None if ep.intro is None else {"start_s": ep.intro.start_s, "end_s": ep.intro.end_s}
    return {
        "path": ep.path,
        "show": ep.show,
        "season": ep.season,
        "duration_s": ep.duration_s,
        "intro": intro,
        "tags": list(ep.tags),
        **(
            {}
            if ep.segments is None
            else {
                "segments": [
                    {"kind": s.kind, "start_s": s.start_s, "end_s": s.end_s, "final": s.final} for s in ep.segments
                ]
            }
        ),
    }


def _episode_from_json(raw: dict[str, object]) -> EpisodeTruth:
    intro_raw = raw.get("intro")
    intro = None
    if isinstance(intro_raw, dict):
        intro = IntroSpan(start_s=float(intro_raw["start_s"]), end_s=float(intro_raw["end_s"]))
    tags = raw.get("tags") or []
    tag_list = tags if isinstance(tags, list) else []
    segments_raw = raw.get("segments")
    segments = None
    if isinstance(segments_raw, list):
        segments = tuple(
            SegmentSpan(str(s["kind"]), float(s["start_s"]), float(s["end_s"]), bool(s.get("final", False)))
            for s in segments_raw
        )
    return EpisodeTruth(
        path=str(raw["path"]),
        show=str(raw["show"]),
        season=str(raw["season"]),
        duration_s=float(str(raw["duration_s"])),
        intro=intro,
        tags=tuple(str(t) for t in tag_list),
        segments=segments,
    )


def write_truth(path: Path, episodes: Iterable[EpisodeTruth]) -> None:
    """Write `episodes` as a truth file (atomically, so a reader never sees half a file)."""
    doc = {"version": TRUTH_VERSION, "episodes": [_episode_to_json(ep) for ep in episodes]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_truth(path: Path) -> list[EpisodeTruth]:
    """Read a truth file; a file or a corpus root directory may be given."""
    if path.is_dir():
        path = path / TRUTH_FILE
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("version") != TRUTH_VERSION:
        raise ValueError(f"{path}: unsupported truth version {doc.get('version')!r}")
    return [_episode_from_json(raw) for raw in doc["episodes"]]
