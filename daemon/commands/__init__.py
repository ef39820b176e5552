"""The service's subcommands: `run`, `rescan`, `status`, `show`. Each command module has a `main(args)`."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from daemon.config import Config, load_config

CONFIG_ENV = "INTRO_DAEMON_CONFIG"  # where `--config` defaults from: lets `status` find the service's file


def register(sub: argparse._SubParsersAction) -> None:
    # Imported here so that `intro-daemon detect ...` does not pay for the scheduler and watchdog imports.
    from daemon import cmd_rescan, cmd_run, cmd_status

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=os.environ.get(CONFIG_ENV) or None,
        help=f"TOML config file (default: ${CONFIG_ENV}, else built-in defaults)",
    )
    common.add_argument(
        "--library", type=Path, action="append", default=[], help="library folder (repeatable; replaces the config's)"
    )

    run = sub.add_parser("run", parents=[common], help="watch the library and detect intros (foreground service)")
    run.set_defaults(func=cmd_run.main)

    rescan = sub.add_parser("rescan", parents=[common], help="detect now everything not done yet under PATH")
    rescan.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: library)")
    rescan.add_argument("--force", action="store_true", help="detect again even what is up to date")
    rescan.set_defaults(func=cmd_rescan.main)

    status = sub.add_parser("status", parents=[common], help="counts, queue, recent errors, seasons")
    status.add_argument("--errors", type=int, default=10, metavar="N", help="how many recent errors to list")
    status.set_defaults(func=cmd_status.status)

    show = sub.add_parser("show", parents=[common], help="what is stored for one episode")
    show.add_argument("path", type=Path, metavar="PATH")
    show.set_defaults(func=cmd_status.show)


def quiet_library_logs() -> None:
    """Part of the entry point's logging set-up: APScheduler logs every job run and Alembic every start at INFO;
    the worker's one line per episode says what matters."""
    for name in ("apscheduler", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def load(args: argparse.Namespace, *, check_targets: bool = False) -> Config:
    """The config for a command: `--config` (or defaults) with `--library` on top. Raises ConfigError.
    `check_targets`: validate the targets' options too (commands that push or queue pushes); status and show
    skip it, so they work for a user who lacks the secrets' environment."""
    check = None
    if check_targets:
        from daemon.publish.config import check_target

        check = check_target
    return load_config(args.config, library=args.library, check_target=check)
