"""What the service's commands share: the `--config`/`--library` options, and reading the config they name."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from sqlalchemy import Engine

from daemon.config import Config, ConfigError, load_config
from db.migrate import current_revision, head_revision
from db.session import make_engine, sqlite_file

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


def load(args: argparse.Namespace, *, check_targets: bool = False) -> Config:
    """The config for a command: `--config` (or defaults) with `--library` on top. Raises ConfigError.
    `check_targets`: parse the targets' options too (commands that push or queue pushes); status and show
    skip it, so they work for a user who lacks the secrets' environment."""
    parse = None
    if check_targets:
        from daemon.publish.config import parse_target

        parse = parse_target
    return load_config(args.config, library=getattr(args, "library", ()), parse_target=parse)


class Unavailable(Exception):
    """No database to read (yet), or one at another schema version."""


def open_read_only(args: argparse.Namespace) -> tuple[Config, Engine] | None:
    """The config `args` name and its database, read-only and at the current schema; None when there is none to
    read (said on stderr). For the commands that only look (status, show)."""
    quiet_library_logs()
    try:
        config = load(args)
        return config, _open_read_only(config.state.database_url)
    except (ConfigError, Unavailable) as e:
        print(f"intro-daemon: {e}", file=sys.stderr)
        return None


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
