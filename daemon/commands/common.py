"""What the service's commands share: the `--config`/`--library` options, and reading the config they name."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from daemon.config import Config, ConfigError, load_config
from db.migrate import current_revision, head_revision
from db.session import make_engine, make_sessions, sqlite_file

T = TypeVar("T")

CONFIG_ENV = "INTRO_DAEMON_CONFIG"  # where `--config` defaults from: lets `status` find the service's file


def options(*, library: bool = True) -> argparse.ArgumentParser:
    """The parent parser of the service's commands. Built per parser, so `--config` defaults from the
    environment as it is when the command line is parsed. `library`: also `--library` (`push` has no use for it)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config",
        type=Path,
        default=os.environ.get(CONFIG_ENV) or None,
        help=f"TOML config file (default: ${CONFIG_ENV}, else built-in defaults)",
    )
    if library:
        parent.add_argument(
            "--library",
            type=Path,
            action="append",
            default=[],
            help="library folder (repeatable; replaces the config's)",
        )
    return parent


def quiet_library_logs() -> None:
    """Part of the entry point's logging set-up: APScheduler logs every job run and Alembic every start at INFO;
    the worker's one line per episode says what matters."""
    for name in ("apscheduler", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def load(args: argparse.Namespace, *, parse_targets: bool = False) -> Config:
    """The config for a command: `--config` (or defaults) with `--library` on top. Raises ConfigError.
    `parse_targets`: parse the targets' options too (commands that push or queue pushes); status and show
    skip it, so they work for a user who lacks the secrets' environment."""
    parse = None
    if parse_targets:
        from daemon.publish.config import parse_target

        parse = parse_target
    return load_config(args.config, library=getattr(args, "library", ()), parse_target=parse)


def prepare(args: argparse.Namespace, setup: Callable[[Config], T]) -> T | None:
    """`setup(config)` for the config `args` name, its targets parsed; None after one line on stderr when the
    config (or what `setup` finds in it) cannot be used: the command then exits 2."""
    try:
        return setup(load(args, parse_targets=True))
    except ConfigError as e:
        print(f"intro-daemon: config: {e}", file=sys.stderr)
        return None


def read_only(
    view: Callable[[argparse.Namespace, Config, Engine, Session], int],
) -> Callable[[argparse.Namespace], int]:
    """A command that only looks: `view` gets the config, its database (read-only, at the current schema) and one
    session. Exit status 2, said on stderr, when there is no database to read."""

    def main(args: argparse.Namespace) -> int:
        quiet_library_logs()
        try:
            config = load(args)
            engine = _open_read_only(config.state.database_url)
        except (ConfigError, Unavailable) as e:
            print(f"intro-daemon: {e}", file=sys.stderr)
            return 2
        try:
            with make_sessions(engine).begin() as session:
                return view(args, config, engine, session)
        finally:
            engine.dispose()

    return main


class Unavailable(Exception):
    """No database to read (yet), or one at another schema version."""


def _open_read_only(url: str) -> Engine:
    db_file = sqlite_file(url)
    if db_file is not None and not db_file.exists():
        raise Unavailable(f"no database at {db_file}: the daemon has not run yet (or pass --config)")
    engine = make_engine(url, read_only=True)
    revision, head = current_revision(engine), head_revision()
    if revision != head:
        engine.dispose()
        raise Unavailable(f"database schema is {revision}, this version needs {head}: start the daemon to upgrade")
    return engine
