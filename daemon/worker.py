"""Process one episode: claim it, detect its intro with its season as context, store the result.

Used by the service's queue jobs and by `rescan` alike. The claim (pending -> processing, one UPDATE) is what makes
it safe to run both at once: whoever loses the claim leaves the episode alone. No database session is held open
during a detection. Every transaction waits out a busy or full database (db/transactions.py), so a finished
detection is stored once it can be; `DatabaseLost` and `DatabaseStopped` reach the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from daemon.detect import DetectFn, DetectorUnavailable, LoadedDetector, RevisitFn
from daemon.library.filter import FileStat, LibraryFilter, season_key, stat_file
from daemon.retry import RetryPolicy
from db import episodes
from db.models import DetectionRecord, EpisodeState
from db.results import detection_of, detection_record, segments_of
from db.transactions import Database, DatabaseLost, DatabaseStopped
from detector import DecodeError, Detection
from detector.errors import MemoryLimitError
from detector.result import Segment
from detector.season import episode_number, places

log = logging.getLogger(__name__)

QUEUE_STATES = frozenset({EpisodeState.PENDING.value})  # a queued job only ever takes pending work
RESCAN_STATES = frozenset({EpisodeState.PENDING.value, EpisodeState.FAILED.value, EpisodeState.DONE.value})


class Outcome(StrEnum):
    DONE = "done"
    FAILED = "failed"  # permanent: unusable media, or out of attempts
    RETRY = "retry"  # an unexpected error; pending again, try after `retry_in_s`
    MISSING = "missing"
    CHANGED = "changed"  # the file changed during the detection; pending again
    SKIPPED = "skipped"  # nothing to do: up to date, or not in a state this caller takes
    BUSY = "busy"  # another process holds the claim
    STOPPED = "stopped"  # shutting down; left as it was


@dataclass(frozen=True)
class Result:
    path: Path
    outcome: Outcome
    detail: str = ""
    elapsed_s: float = 0.0
    retry_in_s: float | None = None
    found: tuple[str, ...] = ()  # done: the kinds of segment found (detector.result.SEGMENT_KINDS), in time order


class Worker:
    def __init__(
        self,
        db: Database,
        detect: DetectFn,
        model_version: str,
        library: LibraryFilter,
        *,
        owner: str,
        targets: Sequence[str] = (),
        retry: RetryPolicy | None = None,
        revisit: RevisitFn | None = None,
    ) -> None:
        """`revisit`: after a new result, its season's earlier episodes are decided again with it (daemon.detect)."""
        self._db = db
        self._detect = detect
        self.model_version = model_version
        self.library = library
        self.owner = owner  # "host:pid", written into the claim
        self.targets = tuple(targets)  # media-server target names: each new result is queued for each
        self._retry = retry or RetryPolicy()
        self._revisit = revisit
        self.stopping = db.stopping  # set: claim nothing more, and stop waiting on a busy or full database
        self._lock = threading.Lock()
        self._claimed: set[int] = set()

    def use(self, detector: LoadedDetector) -> None:
        """Detect with `detector` from the next claim on (another lone-episode model was made active); a detection
        running now ends with the one it started with, and its result carries that one's version."""
        self._detect, self._revisit, self.model_version = detector.detect, detector.revisit, detector.model_version

    def busy(self) -> bool:
        with self._lock:
            return bool(self._claimed)

    def process(self, path: Path, claimable: Collection[str] = QUEUE_STATES, *, force: bool = False) -> Result:
        if self.stopping.is_set():
            return Result(path, Outcome.STOPPED)
        stat = stat_file(path)
        if stat is None:
            return self._missing(path)
        episode_id, outcome = self._claim(path, stat, claimable, force)
        if episode_id is None:
            return Result(path, outcome)
        with self._lock:
            self._claimed.add(episode_id)
        try:
            return self._run(path, stat, episode_id)
        finally:
            with self._lock:
                self._claimed.discard(episode_id)

    def release_claims(self) -> list[int]:
        """At shutdown: give back what is still running, so the next start queues it again."""
        with self._lock:
            claimed = sorted(self._claimed)

        def release(session: Session) -> None:
            for episode_id in claimed:
                episodes.finish(session, episode_id, self.owner, EpisodeState.PENDING, count_attempt=False)

        self._db.write(release)
        return claimed

    def _missing(self, path: Path) -> Result:
        self._db.write(lambda session: episodes.mark_missing(session, str(path)))
        log.info("%s: missing", path)
        return Result(path, Outcome.MISSING, "file is gone")

    def _claim(self, path: Path, stat: FileStat, claimable: Collection[str], force: bool) -> tuple[int | None, Outcome]:
        seen = episodes.Seen(str(path), season_key(path), stat.size, stat.mtime_ns)

        def claim(session: Session) -> tuple[int | None, Outcome]:
            episode = episodes.note_seen(session, seen)
            if episode.state == EpisodeState.PROCESSING:
                return None, Outcome.BUSY
            if not force and episodes.is_up_to_date(session, episode, self.model_version):
                return None, Outcome.SKIPPED
            if not episodes.claim(session, episode.id, self.owner, claimable):
                return None, Outcome.SKIPPED
            return episode.id, Outcome.DONE

        return self._db.write(claim)

    def _run(self, path: Path, stat: FileStat, episode_id: int) -> Result:
        started = time.monotonic()
        if stat.size == 0:
            return self._end(path, episode_id, started, EpisodeState.FAILED, "empty file (0 bytes)")
        try:
            detection = self._detect(path, self.library.siblings(path))
        except DetectorUnavailable as e:  # the cluster is away: given back, no attempt counted
            return self._give_back(path, episode_id, started, e)
        except MemoryLimitError as e:  # not retried: it would only be refused again
            return self._end(path, episode_id, started, EpisodeState.FAILED, e.cause)
        except DecodeError as e:
            if stat_file(path) is None:
                return self._end(path, episode_id, started, EpisodeState.MISSING, "file is gone")
            return self._end(path, episode_id, started, EpisodeState.FAILED, f"unusable media: {e.cause}")
        except FileNotFoundError:
            return self._end(path, episode_id, started, EpisodeState.MISSING, "file is gone")
        except (DatabaseLost, DatabaseStopped):
            raise  # the database's trouble, not the episode's: said where it happened, no attempt counted
        except Exception as e:
            log.exception("%s: detection crashed", path)
            return self._crashed(path, episode_id, started, f"{type(e).__name__}: {e}")
        elapsed = time.monotonic() - started
        if stat_file(path) != stat:
            return self._end(path, episode_id, started, EpisodeState.PENDING, "changed while being analysed")
        record = detection_record(detection, stat.size, stat.mtime_ns, elapsed)
        targets = self.targets
        # Waits while the database is busy or full: the result is kept until it can be stored.
        stored = self._db.write(lambda s: episodes.store_detection(s, episode_id, self.owner, record, targets))
        if stored is None:
            log.info("%s: result dropped, the claim was released meanwhile (%.1f s)", path, elapsed)
            return Result(path, Outcome.STOPPED, "claim released", elapsed)
        summary = _describe(detection)
        log.info("%s: done, %s, in %.1f s", path, summary, elapsed)
        self._revisit_season(path)
        return Result(path, Outcome.DONE, summary, elapsed, found=tuple(s.kind for s in detection.segments))

    def _revisit_season(self, path: Path) -> None:
        """A new result in a season: the earlier episodes decided with fewer siblings are decided again, from what
        is stored (no decoding), each under its own claim; their pushes go again only where a segment moved. So do
        the recap, credits and preview of settled episodes that `path` may be quoted by (see _requotes)."""
        if self._revisit is None:
            return
        season = [path, *self.library.siblings(path)]  # listed once, not once per sibling
        for sibling in season[1:]:
            if self.stopping.is_set():
                return
            self._revisit_one(sibling, [p for p in season if p != sibling], path)

    def _revisit_one(self, path: Path, siblings: Sequence[Path], arrived: Path) -> None:
        """No claim: the episode stays `done` while it is decided again (a claim would show it `processing`), and
        the new result replaces the old one only if nothing changed meanwhile (episodes.replace_result)."""
        assert self._revisit is not None
        stat = stat_file(path)
        if stat is None:
            return

        def current(session: Session) -> tuple[int, int, tuple[Segment, ...], Detection | None] | None:
            """The latest result's episode id, id, segments (read here: its segment rows load lazily), and the
            result itself when its recap, credits and preview are to be decided again."""
            episode = episodes.get(session, str(path))
            if episode is None or episode.state != EpisodeState.DONE:
                return None
            if (episode.size, episode.mtime_ns) != (stat.size, stat.mtime_ns):
                return None
            latest = episodes.latest_detection(session, episode.id)
            if latest is None:
                return None
            settled = detection_of(latest, path) if _requotes(session, latest, path, siblings, arrived) else None
            return latest.episode_id, latest.id, segments_of(latest), settled

        before = self._db.read(current)
        if before is None:
            return
        episode_id, before_id, before_segments, settled = before
        started = time.monotonic()
        try:
            detection = self._revisit(path, siblings, settled)
        except (DatabaseLost, DatabaseStopped):
            raise
        except Exception:
            log.exception("%s: deciding it again failed; its result stays", path)
            return
        if detection is None or stat_file(path) != stat:
            return
        record = detection_record(detection, stat.size, stat.mtime_ns, time.monotonic() - started)
        # Where the targets' markers would change: a segment's kind, ends or final credits (not its confidence).
        moved = _spans(segments_of(record)) != _spans(before_segments)
        targets = self.targets if moved else ()
        replaced = self._db.write(lambda s: episodes.replace_result(s, episode_id, before_id, record, targets))
        if replaced:
            log.info(
                "%s: decided again with its season, %s%s", path, _describe(detection), "" if moved else " (as before)"
            )

    def _crashed(self, path: Path, episode_id: int, started: float, error: str) -> Result:
        def give_back(session: Session) -> tuple[int, bool]:
            episode = episodes.finish(session, episode_id, self.owner, EpisodeState.PENDING, error=error)
            if episode is not None and self._retry.gives_up(episode.attempts):
                episode.state = EpisodeState.FAILED
                episode.last_error = f"gave up after {episode.attempts} attempts: {error}"
            attempts = episode.attempts if episode is not None else 0
            return attempts, episode is None or episode.state == EpisodeState.FAILED

        attempts, final = self._db.write(give_back)
        elapsed = time.monotonic() - started
        if final:
            log.info("%s: failed, %s, in %.1f s", path, error, elapsed)
            return Result(path, Outcome.FAILED, error, elapsed)
        delay = self._retry.delay_s(attempts)
        log.info("%s: retry in %.0f s (attempt %d), %s, in %.1f s", path, delay, attempts, error, elapsed)
        return Result(path, Outcome.RETRY, error, elapsed, retry_in_s=delay)

    def _give_back(self, path: Path, episode_id: int, started: float, why: DetectorUnavailable) -> Result:
        """Pending again, no attempt counted: the detector could not run, the episode is fine."""
        self._db.write(lambda s: episodes.finish(s, episode_id, self.owner, EpisodeState.PENDING, count_attempt=False))
        elapsed = time.monotonic() - started
        if why.retry_in_s is None:
            log.info("%s: given back (%s)", path, why)
            return Result(path, Outcome.STOPPED, str(why), elapsed)
        log.info("%s: given back, %s; again in %.0f s", path, why, why.retry_in_s)
        return Result(path, Outcome.RETRY, str(why), elapsed, retry_in_s=why.retry_in_s)

    def _end(self, path: Path, episode_id: int, started: float, state: EpisodeState, why: str) -> Result:
        count = state != EpisodeState.PENDING
        error = why if count else None
        self._db.write(lambda s: episodes.finish(s, episode_id, self.owner, state, error=error, count_attempt=count))
        elapsed = time.monotonic() - started
        outcome = {
            EpisodeState.FAILED: Outcome.FAILED,
            EpisodeState.MISSING: Outcome.MISSING,
            EpisodeState.PENDING: Outcome.CHANGED,
        }[state]
        log.info("%s: %s, %s, in %.1f s", path, outcome.value, why, elapsed)
        return Result(path, outcome, why, elapsed)


def _requotes(session: Session, latest: DetectionRecord, path: Path, siblings: Sequence[Path], arrived: Path) -> bool:
    """Whether `arrived` may be quoted by the recap or the preview of `path` (an earlier episode, the next one
    present, or one whose order is not known: detector.season.places) and its fingerprints were stored after
    `path`'s result was decided: a weekly show's episode gets its "next time on" when the next one arrives. A first
    scan stores a season's fingerprints before deciding any of it, so nothing is decided twice there."""
    if arrived not in siblings:
        return False
    earlier, following, unknown = places(episode_number(path), [episode_number(p) for p in siblings])
    if not (earlier | following | unknown)[list(siblings).index(arrived)]:
        return False
    other = episodes.get(session, str(arrived))
    written = episodes.fingerprinted_at(session, other.id) if other is not None else None
    return written is not None and written > latest.created_at


def _spans(segments: Sequence[Segment]) -> list[tuple[str, float, float, bool]]:
    return [(s.kind, s.start_s, s.end_s, s.final) for s in segments]


def _describe(detection: Detection) -> str:
    intro = detection.intro
    text = "no intro"
    if intro is not None:
        text = f"intro {intro.start_s:.1f}-{intro.end_s:.1f} s (confidence {intro.confidence:.2f})"
    for s in detection.others:
        text += f", {'final ' if s.final else ''}{s.kind} {s.start_s:.1f}-{s.end_s:.1f} s"
    return text
