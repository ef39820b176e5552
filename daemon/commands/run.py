"""`intro-daemon run`: the service in the foreground (systemd Type=simple; no forking, logs to stderr).

Signals are taken synchronously: they are blocked before any thread starts (daemon/cli.py does it first thing, so
every thread inherits the mask) and the main thread waits in `sigwait`. SIGTERM/SIGINT stop, SIGHUP reloads the
config. Under systemd (Type=notify) the service says READY=1 once it watches, and RELOADING=1 / STOPPING=1.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from daemon import systemd
from daemon.adapted import worker_config
from daemon.commands.common import load, prepare, quiet_library_logs
from daemon.config import Config, ConfigError
from daemon.detect import DetectorLoadError, LoadedDetector, load_detector
from daemon.detector_process import DetectorPool
from daemon.fingerprints import DatabaseStore
from daemon.publish.pusher import make_pusher
from daemon.service import Daemon
from db.session import make_engine, make_sessions
from db.transactions import DatabaseLost

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    run = sub.add_parser("run", parents=[parent], help="watch the library and detect intros (foreground service)")
    run.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    config = prepare(args, _with_folders)
    if config is None:
        return 2
    quiet_library_logs()
    systemd.block_service_signals()  # already blocked by daemon.cli; here too for callers of main() itself
    _lower_priority(config.worker.nice)  # before the detection process starts: it inherits it
    try:
        store = DatabaseStore(make_sessions(make_engine(config.state.database_url)))

        def local_detector(config: Config) -> LoadedDetector:
            if config.worker.detection_process:
                # Detections in a process of their own (daemon/detector_process.py), closed when idle; it keeps the
                # fingerprints in the database through its own connection.
                return DetectorPool(
                    worker_config(config), config.state.database_url, unload_after_s=config.worker.unload_after_s
                ).loaded()
            # The fingerprint store has its own engine: it is used from inside detections, the daemon's from outside.
            return load_detector(worker_config(config), store)

        detector = local_detector(config)
        if config.cluster is not None:
            from daemon.cluster.client import on_cluster

            detector = on_cluster(config.cluster, detector, store)
        # With a cluster the workers load the shipped models whatever this machine's state folder says.
        reload = local_detector if config.cluster is None and config.worker.lone_weights is None else None
        daemon = Daemon(
            config, detector, pusher_factory=make_pusher, on_database_lost=_stop_self, reload_detector=reload
        )
        daemon.start()
    except (DetectorLoadError, ConfigError, DatabaseLost) as e:
        systemd.unblock_service_signals()
        print(f"intro-daemon: {e}", file=sys.stderr)
        return 2
    systemd.notify("READY=1")
    while (sig := signal.sigwait(systemd.SERVICE_SIGNALS)) not in systemd.STOP_SIGNALS:
        systemd.notify("RELOADING=1")
        _reload(daemon, args)
        systemd.notify("READY=1")
    if daemon.db.lost is None:
        log.info("%s: stopping", signal.Signals(sig).name)
    systemd.notify("STOPPING=1")
    daemon.stop()
    # Threads still busy are not waited for: a detection past the grace time (its claim was given back) or a push
    # waiting on a slow server (pushes are idempotent; it stays due). systemd gives a stop 15 s, then SIGKILLs.
    logging.shutdown()
    # A lost database is a failure: systemd's Restart=on-failure starts the service again with a new one.
    os._exit(0 if daemon.db.lost is None else 1)


def _stop_self(_message: str) -> None:
    """The database file was deleted or damaged (already logged): stop as SIGTERM would. The main thread waits in
    `sigwait`, so the signal goes to the process, not to the calling thread."""
    os.kill(os.getpid(), signal.SIGTERM)


def _with_folders(config: Config) -> Config:
    if not config.library.folders:
        raise ConfigError("library.folders: empty; pass --library DIR or list folders in the config file")
    for folder in config.library.folders:
        if not folder.is_dir():
            raise ConfigError(f"library.folders: {folder} is not a folder")
    return config


def _reload(daemon: Daemon, args: argparse.Namespace) -> None:
    try:
        config = _with_folders(load(args, parse_targets=True))
    except ConfigError as e:
        log.error("SIGHUP: configuration not reloaded: %s", e)
        return
    daemon.reload(config)


def _lower_priority(nice: int) -> None:
    """Raise the niceness to `nice`, never lower it (systemd's Nice= may already have set it)."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice > current:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
