"""The running service: watcher -> settle -> queue -> worker -> pushes, plus the reconcile scan at start and daily.

`start` and `stop` are all a caller needs (the `run` command adds signals). Stop order: watcher, settling,
scheduler, then up to `grace_s` for the running detection, whose claim is otherwise given back (pending) so the next
start queues it again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from daemon import jobs
from daemon.adapted import MODEL_CHECK_S, ActiveChoice
from daemon.claims import is_dead, owner_id
from daemon.config import Config, ConfigError
from daemon.detect import DetectorLoadError, LoadedDetector
from daemon.library.filter import FileStat, LibraryFilter, season_key, stat_file
from daemon.library.reconcile import Changes, apply_moves_and_missing, compare, scan_disk
from daemon.library.settle import Settler, SettleThread
from daemon.library.watch import Watcher
from daemon.publish.pusher import PUSH_INTERVAL_S, Pusher, PusherFactory
from daemon.queue import Queue, make_scheduler
from daemon.retry import RetryPolicy
from daemon.worker import Outcome, Worker
from db import episodes
from db.migrate import upgrade
from db.models import EpisodeState
from db.session import make_engine, make_sessions, sqlite_file
from db.transactions import Database, DatabaseLost, DatabaseStopped

log = logging.getLogger(__name__)


class Daemon:
    def __init__(
        self,
        config: Config,
        detector: LoadedDetector,
        *,
        owner: str | None = None,
        pusher_factory: PusherFactory | None = None,
        on_database_lost: Callable[[str], None] | None = None,
        reload_detector: Callable[[Config], LoadedDetector] | None = None,
    ) -> None:
        """`pusher_factory` (see daemon/publish/pusher.py) builds what pushes markers; None: results are only stored.
        `on_database_lost(message)`: the database file was deleted or damaged while running (the `run` command
        stops the process). `reload_detector(config)`: loads the detector again when the state folder's active
        lone-episode model changes (daemon/adapted.py); None: the one given is kept. Raises ConfigError for bad
        target options."""
        self.config = config
        self.owner = owner or owner_id()
        self._engine = make_engine(config.state.database_url)
        self._sessions = make_sessions(self._engine)
        self.db = Database(self._sessions, sqlite_file(config.state.database_url))
        self._on_database_lost = on_database_lost
        self._library = LibraryFilter(config.library)
        self._pusher_factory = pusher_factory
        self._pusher: Pusher | None = None
        if pusher_factory is not None:
            self._pusher = pusher_factory(config, self._sessions, self.file_rewritten)
        self._probed = False
        self.worker = Worker(
            self.db,
            detector.detect,
            detector.model_version,
            self._library,
            owner=self.owner,
            targets=self._pusher.targets if self._pusher else (),
            retry=RetryPolicy(config.worker.max_attempts, config.worker.retry_backoff_s),
            revisit=detector.revisit,
        )
        self._stop_detector = detector.stop
        self._reload_detector = reload_detector
        self._lone_choice = ActiveChoice(config.state.dir) if reload_detector is not None else None
        self._swap = threading.Lock()
        # With a cluster, each of these threads waits on one detection submitted to it.
        in_flight = config.cluster.in_flight if config.cluster is not None else config.worker.workers
        self._scheduler = make_scheduler(self._engine, in_flight)
        self.queue = Queue(self._scheduler, self.db)
        self._settle = SettleThread(Settler(config.library.settle_s), self._settled)
        self._watcher = Watcher(config.library, self._library, self)
        self._idle = threading.Condition()

    # --- life cycle

    def start(self) -> None:
        """Raises DatabaseLost when the database file is damaged."""
        self.db.retry(lambda: upgrade(self._engine))
        self.db.watch_file()
        # Our own id too: a pid reused from the killed run (e.g. pid 1 in a container) is not a live claim.
        released = self.db.write(lambda s: episodes.release_stale_claims(s, lambda o: o == self.owner or is_dead(o)))
        for path in released:
            log.info("%s: interrupted last time, queued again", path)
        self.db.on_lost = self._on_database_lost  # from now on; at start a damaged file is the caller's to report
        jobs.bind(self)
        self._scheduler.start()
        self._settle.start()
        self._watcher.start()
        # At once, then daily: catches what changed while the daemon was down, and re-queues pending work.
        self.queue.schedule_reconcile(self.config.library.reconcile_interval_h)
        self._schedule_pushes()
        if self._lone_choice is not None:
            self.queue.schedule_model_check(MODEL_CHECK_S)
        else:
            self.queue.unschedule_model_check()
        log.info(
            "watching %s (model %s, %d worker(s), settle %.0f s)",
            ", ".join(map(str, self._library.roots)),
            self.worker.model_version,
            self.config.worker.workers,
            self.config.library.settle_s,
        )

    def stop(self, grace_s: float | None = None) -> bool:
        """Stop everything. False when a detection was still running after `grace_s` (it was re-queued and its
        thread is left behind: the caller should exit the process)."""
        grace_s = self.config.worker.shutdown_grace_s if grace_s is None else grace_s
        self.db.stopping.set()
        with self._swap:
            self._lone_choice = None  # no detector loaded again from here on
            stop_detector = self._stop_detector
        stop_detector()
        self._watcher.stop()
        self._settle.stop()
        self._scheduler.shutdown(wait=False)
        clean = self._wait_idle(grace_s)
        if not clean:
            with _unless_lost():  # then the next start releases the claims
                for episode_id in self.worker.release_claims():
                    log.info("episode #%d: stopped during its detection, queued again", episode_id)
        jobs.unbind(self)
        self._engine.dispose()
        log.info("stopped")
        return clean

    def _wait_idle(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self.worker.busy():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def reload(self, new: Config) -> None:
        """SIGHUP: apply what can change while running; the rest waits for a restart (said in the log)."""
        old = self.config
        for name in ("state", "worker"):
            if getattr(old, name) != getattr(new, name):
                log.warning("[%s] changed: takes effect after a restart", name)
        self.config = dataclasses.replace(new, state=old.state, worker=old.worker)
        pushing = (new.targets, new.path_maps, new.push) != (old.targets, old.path_maps, old.push)
        if pushing and self._pusher_factory is not None:
            try:
                self._pusher = self._pusher_factory(self.config, self._sessions, self.file_rewritten)
            except ConfigError as e:
                log.error("targets not reloaded, the old ones stay: %s", e)
            else:
                self._probed = False
                self.worker.targets = tuple(self._pusher.targets if self._pusher else ())
                self._schedule_pushes()
        if new.library != old.library:
            self._watcher.stop()
            self._settle.stop()
            self._library = LibraryFilter(new.library)
            self.worker.library = self._library
            self._settle = SettleThread(Settler(new.library.settle_s), self._settled)
            self._watcher = Watcher(new.library, self._library, self)
            self._settle.start()
            self._watcher.start()
            self.queue.schedule_reconcile(new.library.reconcile_interval_h)  # at once: new folders, new rules
        log.info("configuration reloaded from %s", new.source or "defaults")

    # --- jobs (see daemon/jobs.py)

    def run_detection(self, path: Path) -> None:
        try:
            self._follow_lone_model()
            result = self.worker.process(path)
        except (DatabaseLost, DatabaseStopped):
            return  # said where it happened; the daemon is stopping and the episode stays claimed or pending
        finally:
            with self._idle:
                self._idle.notify_all()
        with _unless_lost():
            if result.outcome == Outcome.DONE and self._pusher is not None:
                self.queue.push_now()
            elif result.outcome == Outcome.RETRY and result.retry_in_s is not None:
                self.queue.enqueue(path, result.retry_in_s)
            elif result.outcome == Outcome.CHANGED:
                self._settle.note(path)

    def run_push(self) -> None:
        pusher = self._pusher
        if pusher is None or self.worker.stopping.is_set():
            return
        if not self._probed:  # here rather than at start: probing waits on servers, start must not
            self._probed = True
            pusher.probe()
        pusher.run_due(stopping=self.worker.stopping)
        resume_at = pusher.resume_at()
        if resume_at is not None:  # a target rests after a failure: try it again then, not at the next interval
            with _unless_lost():
                self.queue.push_at(resume_at)

    def run_model_check(self) -> None:
        with _unless_lost():
            if self._follow_lone_model():
                self._reconcile()  # queues what `adapt` put back to pending for the new model

    def _follow_lone_model(self) -> bool:
        """Load the detector again if the active lone-episode model changed; True when it was."""
        if self._lone_choice is None or self._reload_detector is None:
            return False
        with self._swap:
            if not self._lone_choice.changed():
                return False
            try:
                detector = self._reload_detector(self.config)
            except DetectorLoadError as e:
                log.error(
                    "the active lone-episode model changed, but %s; detections go on with model %s",
                    e,
                    self.worker.model_version,
                )
                return False
            except Exception:  # whatever else went wrong loading it, the detections go on
                log.exception(
                    "the active lone-episode model changed, but loading it failed; detections go on with model %s",
                    self.worker.model_version,
                )
                return False
            stop_old, self._stop_detector = self._stop_detector, detector.stop
            self.worker.use(detector)
        stop_old()  # idle detection processes exit; one still detecting ends when its episode is done
        log.info("the active lone-episode model changed: detecting with model %s", detector.model_version)
        return True

    def _schedule_pushes(self) -> None:
        if self._pusher is not None:
            self.queue.schedule_push(PUSH_INTERVAL_S)
        else:
            self.queue.unschedule_push()

    def file_rewritten(self, path: Path) -> None:
        """A publisher wrote into the media file (chapters): its new size and mtime are ours, not a new file."""
        stat = stat_file(path)
        if stat is not None:
            with _unless_lost():
                self.db.write(lambda s: episodes.adopt_rewrite(s, str(path), stat.size, stat.mtime_ns))

    def run_reconcile(self) -> None:
        with _unless_lost():
            self._reconcile()

    def _reconcile(self) -> None:
        started = time.monotonic()
        on_disk = scan_disk(self._library)
        if self.worker.stopping.is_set():
            return

        def sync(session: Session) -> tuple[list[str], Changes, list[Path]]:
            released = episodes.release_stale_claims(session, is_dead)
            changes = compare(session, self._library, on_disk, self._library.roots)
            apply_moves_and_missing(session, changes)
            return released, changes, [Path(p) for p in episodes.pending_paths(session)]

        released, changes, pending = self.db.write(sync)
        for src, _dest in changes.moved:
            self.queue.remove(src)
        for path in changes.missing:
            self.queue.remove(path)
        for path in changes.new_or_changed:
            self._settle.note(path)
        queued = [p for p in pending if self._library.accepts(p) and not self.queue.has(p)]
        for path in queued:
            self.queue.enqueue(path)
        log.info(
            "reconcile: %d files, %d new or changed, %d moved, %d missing, %d queued again, %d claims released "
            "(%.1f s)",
            len(on_disk),
            len(changes.new_or_changed),
            len(changes.moved),
            len(changes.missing),
            len(queued),
            len(released),
            time.monotonic() - started,
        )

    # --- library events (see daemon/library/watch.py); never touch the queue inside a transaction: the job store waits
    # for the same database lock

    def changed(self, path: Path) -> None:
        self._settle.note(path)

    def _settled(self, path: Path, stat: FileStat) -> None:
        seen = episodes.Seen(str(path), season_key(path), stat.size, stat.mtime_ns)
        with _unless_lost():
            if self.db.write(lambda s: episodes.note_seen(s, seen).state) == EpisodeState.PENDING:
                log.debug("%s: settled, queued", path)
                self.queue.enqueue(path)

    def deleted(self, path: Path) -> None:
        self._settle.forget(path)
        with _unless_lost():
            known = self.db.write(lambda s: episodes.mark_missing(s, str(path)) is not None)
            self.queue.remove(path)
            if known:
                log.info("%s: deleted, marked missing", path)

    def moved(self, src: Path, dest: Path) -> None:
        self._settle.forget(src)
        with _unless_lost():
            self._moved(src, dest)

    def _moved(self, src: Path, dest: Path) -> None:
        def rename(session: Session) -> tuple[bool, bool]:
            episode = episodes.rename(session, str(src), str(dest), season_key(dest))
            return episode is not None, episode is not None and episode.state == EpisodeState.PENDING

        known, pending = self.db.write(rename)
        if not known:  # not known yet (e.g. still settling): start over under the new name
            self._settle.note(dest)
            return
        log.info("%s: moved to %s, results kept", src, dest)
        self.queue.remove(src)
        if pending:
            self.queue.enqueue(dest)

    def folder_deleted(self, path: Path) -> None:
        with _unless_lost():
            gone = self.db.write(lambda s: episodes.mark_missing_under(s, str(path)))
            for p in gone:
                self.queue.remove(Path(p))
            if gone:
                log.info("%s: folder deleted, %d episodes marked missing", path, len(gone))

    def folder_moved(self, src: Path, dest: Path) -> None:
        with _unless_lost():
            self._folder_moved(src, dest)

    def _folder_moved(self, src: Path, dest: Path) -> None:
        def rename(session: Session) -> tuple[list[tuple[str, str]], set[str]]:
            moved = episodes.rename_folder(session, str(src), str(dest))
            pending = {p for _, p in moved if (e := episodes.get(session, p)) and e.state == EpisodeState.PENDING}
            return moved, pending

        moved, pending = self.db.write(rename)
        for old, new in moved:
            self.queue.remove(Path(old))
            if new in pending:
                self.queue.enqueue(Path(new))
        if moved:
            log.info("%s: folder moved to %s, %d episodes keep their results", src, dest, len(moved))


def _unless_lost() -> contextlib.suppress:
    """Around work on the database outside a job's own error handling (library events, follow-ups): when the
    database is lost or the daemon stops while it waits, that was said once where it happened; nothing to add."""
    return contextlib.suppress(DatabaseLost, DatabaseStopped)
