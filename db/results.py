"""A `detector.Detection` as stored: one `DetectionRecord` (the intro in its own columns) with a `SegmentRecord` per
other segment (recap, credits, preview), and the segments read back. The one place that maps between the two, so
that the worker, a revisit and the readers (status, show, the publishers) agree on it."""

from __future__ import annotations

from pathlib import Path

from db.models import SEGMENT_KINDS_STORED, DetectionRecord, SegmentRecord
from db.scores import decode_scores, encode_scores
from detector.result import SEGMENT_KINDS, Detection, Intro, Segment


def detection_record(detection: Detection, file_size: int, file_mtime_ns: int, elapsed_s: float) -> DetectionRecord:
    """A new row (not yet in a session) for `detection`, computed from the file at this size and mtime."""
    intro = detection.intro
    return DetectionRecord(
        file_size=file_size,
        file_mtime_ns=file_mtime_ns,
        model_version=detection.model_version,
        start_s=intro.start_s if intro else None,
        end_s=intro.end_s if intro else None,
        confidence=intro.confidence if intro else None,
        duration_s=detection.duration_s,
        signals=",".join(detection.signals),
        scores=encode_scores(detection.scores),
        elapsed_s=elapsed_s,
        computed_by=detection.computed_by,
        others=[segment_record(s) for s in detection.others],
    )


def detection_of(record: DetectionRecord, path: Path) -> Detection:
    """The stored detection read back, for deciding it again (scores at the float16 they are stored in). Reads
    `record.others`: call it while its session is open."""
    intro = None
    if record.start_s is not None and record.end_s is not None:
        intro = Intro(record.start_s, record.end_s, record.confidence or 0.0)
    return Detection(
        path=path,
        duration_s=record.duration_s,
        intro=intro,
        model_version=record.model_version,
        scores=tuple(float(x) for x in decode_scores(record.scores)),
        signals=tuple(x for x in record.signals.split(",") if x),
        computed_by=record.computed_by,
        others=tuple(_others(record)),
    )


def segment_record(segment: Segment) -> SegmentRecord:
    # Said here rather than by the table's CHECK at commit, which would fail the whole write far from the cause.
    if segment.kind not in SEGMENT_KINDS_STORED:
        raise ValueError(f"a {segment.kind} in Detection.others: the intro is Detection.intro")
    return SegmentRecord(
        kind=segment.kind,
        start_s=segment.start_s,
        end_s=segment.end_s,
        confidence=segment.confidence,
        signals=",".join(segment.signals),
        final=segment.final,
    )


def copy_segments(record: DetectionRecord) -> list[SegmentRecord]:
    """New rows holding `record`'s other segments, for another detection row (a revisit replaces in place)."""
    return [segment_record(s) for s in _others(record)]


def segments_of(record: DetectionRecord) -> tuple[Segment, ...]:
    """Every segment of a stored detection, the intro included, in time order: `Detection.segments` read back.
    Reads `record.others`: call it while its session is open, or on a row whose segments are loaded."""
    found = list(_others(record))
    # An intro that no Segment could hold (none is stored so) is left out here rather than failing a reader.
    if record.start_s is not None and record.end_s is not None and record.end_s > record.start_s >= 0:
        found.append(Segment("intro", record.start_s, record.end_s, record.confidence or 0.0))
    return tuple(sorted(found, key=lambda s: (s.start_s, SEGMENT_KINDS.index(s.kind))))


def _others(record: DetectionRecord) -> list[Segment]:
    return [
        Segment(
            s.kind,
            s.start_s,
            s.end_s,
            s.confidence,
            tuple(x for x in s.signals.split(",") if x),
            bool(s.final),
        )
        for s in record.others
    ]
