"""Tables: episodes (one per video file), detections (results), pushes (markers sent to each media-server target),
fingerprints (what the detector computed for a file, for its siblings' detections).

A result is keyed by the file's path, size, mtime and the model version, so a rescan can tell what is up to date.
Changing these models needs a migration in `db/migrations/versions/`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class EpisodeState(StrEnum):
    PENDING = "pending"  # waiting for a detection (queued, or to be picked up by a rescan)
    PROCESSING = "processing"  # claimed by one process (`claimed_by`); nobody else touches it
    DONE = "done"  # a detection for the current size/mtime is stored
    FAILED = "failed"  # gave up; `last_error` says why
    MISSING = "missing"  # the file is gone; results are kept in case it comes back


class PushState(StrEnum):
    PENDING = "pending"  # to be pushed at `next_attempt_at`
    DONE = "done"  # `detection_id` is what the target has
    FAILED = "failed"  # gave up; `last_error` says why


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no time zones), always returned aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _states(column: str, states: type[StrEnum]) -> CheckConstraint:
    values = ", ".join(f"'{s.value}'" for s in states)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


class Base(DeclarativeBase):
    pass


class Episode(Base):
    __tablename__ = "episodes"
    __table_args__ = (_states("state", EpisodeState),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String, unique=True)  # absolute, as the daemon sees it
    season_key: Mapped[str] = mapped_column(String, index=True)  # the parent folder: siblings share it
    size: Mapped[int] = mapped_column(BigInteger)  # bytes, at the last look
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)  # known after a detection
    state: Mapped[str] = mapped_column(String(16), index=True, default=EpisodeState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # detections tried for this size/mtime
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String)  # "host:pid" of the process while processing
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last detection finished (any result)

    detections: Mapped[list[DetectionRecord]] = relationship(
        back_populates="episode", cascade="all, delete-orphan", order_by="DetectionRecord.id"
    )
    pushes: Mapped[list[Push]] = relationship(back_populates="episode", cascade="all, delete-orphan")


class DetectionRecord(Base):
    """One detector result. Named apart from `detector.Detection`, which is what it stores."""

    __tablename__ = "detections"
    __table_args__ = (UniqueConstraint("episode_id", "file_size", "file_mtime_ns", "model_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    file_size: Mapped[int] = mapped_column(BigInteger)  # the file this result was computed from
    file_mtime_ns: Mapped[int] = mapped_column(BigInteger)
    model_version: Mapped[str] = mapped_column(String)
    start_s: Mapped[float | None] = mapped_column(Float)  # all three None: the episode has no intro
    end_s: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)  # of the whole file
    signals: Mapped[str] = mapped_column(String, default="")  # comma-separated, e.g. "network,repetition"
    scores: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # per-second probability, float16 LE
    elapsed_s: Mapped[float] = mapped_column(Float)  # time the detection took
    computed_by: Mapped[str] = mapped_column(String, default="", server_default="")  # cluster worker; "": here
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    episode: Mapped[Episode] = relationship(back_populates="detections")
    # Recap, credits and preview (the intro is start_s/end_s above), in time order.
    others: Mapped[list[SegmentRecord]] = relationship(
        back_populates="detection", cascade="all, delete-orphan", order_by="SegmentRecord.start_s"
    )


SEGMENT_KINDS_STORED = ("recap", "credits", "preview")  # detector.result.SEGMENT_KINDS but the intro


class SegmentRecord(Base):
    """One segment of a detection other than the intro (detector.result.Segment): a recap, the credits, a
    preview."""

    __tablename__ = "segments"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in SEGMENT_KINDS_STORED) + ")", name="segment_kind_valid"
        ),
        CheckConstraint("end_s > start_s", name="segment_not_empty"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    detection_id: Mapped[int] = mapped_column(ForeignKey("detections.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    signals: Mapped[str] = mapped_column(String, default="")  # comma-separated, as DetectionRecord.signals
    final: Mapped[bool] = mapped_column(Boolean, default=False)  # credits: nothing but credits follows

    detection: Mapped[DetectionRecord] = relationship(back_populates="others")


class Push(Base):
    """Where one episode's markers stand on one target (the target's `name` in the config)."""

    __tablename__ = "pushes"
    __table_args__ = (UniqueConstraint("episode_id", "target"), _states("state", PushState))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String(16), index=True, default=PushState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: as soon as possible
    # The detection the target now has (set when a push succeeds); None: nothing pushed yet.
    detection_id: Mapped[int | None] = mapped_column(ForeignKey("detections.id", ondelete="SET NULL"))
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    episode: Mapped[Episode] = relationship(back_populates="pushes")
    detection: Mapped[DetectionRecord | None] = relationship()


class Fingerprint(Base):
    """The detector's fingerprints of one episode's file (opaque bytes), so a new episode of the season does not
    decode its siblings again. Valid while the file keeps this size and mtime; follows the episode when moved."""

    __tablename__ = "fingerprints"

    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), primary_key=True)
    file_size: Mapped[int] = mapped_column(BigInteger)
    file_mtime_ns: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredAnalysis(Base):
    """An episode's analysis (embeddings and fingerprints, opaque bytes, ~8 kB per analysed second), kept while its
    result was decided with few siblings, so that it can be decided again without decoding when one arrives.
    Valid while the file keeps this size and mtime; dropped once the result is settled."""

    __tablename__ = "analyses"

    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), primary_key=True)
    file_size: Mapped[int] = mapped_column(BigInteger)
    file_mtime_ns: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
