"""`intro-daemon rescan [PATH...] [--force]`: detect now, in this process, whatever is not up to date.

Safe beside the running service: both claim an episode before working on it, so neither ever processes one the
other holds (the rescan skips those as busy). Results are keyed by path, size, mtime and model version, so a second
rescan finds nothing to do.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from daemon.adapted import worker_config
from daemon.claims import is_dead, owner_id
from daemon.commands.common import prepare, quiet_library_logs
from daemon.commands.output import WITH_KIND, Progress, clock
from daemon.config import Config, ConfigError
from daemon.detect import DetectorLoader, DetectorLoadError, load_detector
from daemon.fingerprints import DatabaseStore
from daemon.library.filter import LibraryFilter, season_key
from daemon.library.reconcile import apply_moves_and_missing, compare, scan_disk
from daemon.retry import RetryPolicy
from daemon.worker import RESCAN_STATES, Outcome, Result, Worker
from db import episodes
from db.migrate import upgrade
from db.models import EpisodeState
from db.session import make_engine, make_sessions, sqlite_file
from db.transactions import Database, DatabaseLost

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    rescan = sub.add_parser("rescan", parents=[parent], help="detect now everything not done yet under PATH")
    rescan.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: library)")
    rescan.add_argument("--force", action="store_true", help="detect again even what is up to date")
    rescan.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    # Imported here: the publishers pull in requests and PyAV, which `intro-daemon --help` does not need.
    from daemon.publish.config import push_targets

    quiet_library_logs()
    if sys.stderr.isatty() and not args.verbose:
        # On a terminal the progress bar already says each episode's result; log lines would break it up.
        logging.getLogger("daemon.worker").setLevel(logging.WARNING)
    ready = prepare(args, lambda config: (config, push_targets(config), _tops(config, args.paths)))
    if ready is None:
        return 2
    config, targets, tops = ready
    try:
        return rescan(config, tops, force=args.force, detector_loader=load_detector, targets=targets)
    except DetectorLoadError as e:
        print(f"intro-daemon: {e}", file=sys.stderr)
        return 2
    except DatabaseLost as e:
        print(f"intro-daemon: {e}", file=sys.stderr)
        return 1


def _tops(config: Config, paths: list[Path]) -> tuple[Path, ...]:
    if paths:
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise ConfigError(f"rescan: {missing[0]} does not exist")
        return tuple(p.resolve() for p in paths)
    if not config.library.folders:
        raise ConfigError("library.folders: empty; pass PATH, --library DIR, or list folders in the config file")
    return config.library.folders


def rescan(
    config: Config,
    tops: tuple[Path, ...],
    *,
    force: bool,
    detector_loader: DetectorLoader,
    targets: Sequence[str] = (),
) -> int:
    """Sync the database with the files under `tops`, then detect what needs it. Returns the exit status.
    `targets`: the push targets each new result is queued for (see daemon/publish/config.py)."""
    library = _library(config, tops)
    engine = make_engine(config.state.database_url)
    sessions = make_sessions(engine)
    db = Database(sessions, sqlite_file(config.state.database_url))
    try:
        db.retry(lambda: upgrade(engine))
        db.watch_file()
        _sync(sessions, library, tops)
        store = DatabaseStore(sessions)
        detector = detector_loader(worker_config(config), store)
        if config.cluster is not None:
            from daemon.cluster.client import on_cluster

            detector = on_cluster(config.cluster, detector, store)
        with sessions.begin() as session:
            todo = _todo(session, tops, detector.model_version, force)
        if not todo:
            print(f"nothing to do: everything under {_names(tops)} is up to date (model {detector.model_version})")
            return 0
        worker = Worker(
            db,
            detector.detect,
            detector.model_version,
            library,
            owner=owner_id(),
            targets=targets,
            retry=RetryPolicy(config.worker.max_attempts, config.worker.retry_backoff_s),
            revisit=detector.revisit,
        )
        progress = Progress(len(todo), sys.stderr)
        in_flight = config.cluster.in_flight if config.cluster is not None else 1
        try:
            results = _process(worker, todo, force, progress, in_flight)
        finally:
            detector.stop()
    finally:
        engine.dispose()
    print(_summary(results, progress.elapsed_s()))
    return 0


def _library(config: Config, tops: tuple[Path, ...]) -> LibraryFilter:
    """The library folders, plus any PATH outside them (its own root, so hidden/partial names are still judged)."""
    roots = list(config.library.folders)
    probe = LibraryFilter(config.library, roots)
    for top in tops:
        if probe.root_of(top) is None:
            roots.append(top if top.is_dir() else top.parent)
    return LibraryFilter(config.library, roots)


def _sync(sessions: sessionmaker[Session], library: LibraryFilter, tops: tuple[Path, ...]) -> None:
    on_disk = scan_disk(library, tops)
    with sessions.begin() as session:
        episodes.release_stale_claims(session, is_dead)
        changes = compare(session, library, on_disk, tops)
        apply_moves_and_missing(session, changes)
        for path in changes.new_or_changed:
            stat = on_disk[path]
            episodes.note_seen(session, episodes.Seen(str(path), season_key(path), stat.size, stat.mtime_ns))


def _todo(session: Session, tops: tuple[Path, ...], model_version: str, force: bool) -> list[Path]:
    todo = []
    for top in tops:
        for episode in episodes.episodes_at_or_under(session, str(top)):
            if episode.state in (EpisodeState.MISSING, EpisodeState.PROCESSING):
                continue
            if force or not episodes.is_up_to_date(session, episode, model_version):
                todo.append(Path(episode.path))
    return sorted(set(todo))


def _process(worker: Worker, todo: list[Path], force: bool, progress: Progress, in_flight: int) -> list[Result]:
    """Each episode in turn, or `in_flight` at a time (a cluster: each thread waits on one remote detection)."""

    said = threading.Lock()

    def one(path: Path) -> Result:
        result = worker.process(path, RESCAN_STATES, force=force)
        with said:
            progress.step(f"{path.name}: {result.outcome.value}")
        return result

    try:
        if in_flight == 1:
            return [one(path) for path in todo]
        with ThreadPoolExecutor(in_flight, thread_name_prefix="rescan") as pool:
            return list(pool.map(one, todo))
    except KeyboardInterrupt:
        worker.stopping.set()
        released = worker.release_claims()
        print(f"\ninterrupted; {len(released)} episode(s) left pending", file=sys.stderr)
        raise


def _summary(results: list[Result], time_s: float) -> str:
    counts = Counter(r.outcome for r in results)
    having = Counter(kind for r in results if r.outcome == Outcome.DONE for kind in set(r.found))
    found = f"{having['intro']} with an intro" + "".join(
        f", {having[kind]} with {text}" for kind, text in WITH_KIND.items() if having[kind]
    )
    parts = [f"{counts[o]} {o.value}" for o in Outcome if counts[o]]
    lines = [f"rescan: {len(results)} episodes in {clock(time_s, hours=True)}: {', '.join(parts)} ({found})"]
    for r in results:
        if r.outcome in (Outcome.FAILED, Outcome.RETRY):
            lines.append(f"  {r.outcome.value}: {r.path}: {r.detail}")
    return "\n".join(lines)


def _names(tops: tuple[Path, ...]) -> str:
    return ", ".join(str(t) for t in tops)
