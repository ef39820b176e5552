"""`intro-daemon` entry point: the commands come from `daemon.commands`; logging is configured only here.

The commands are imported after `run` has blocked the service's signals (see daemon/systemd.py)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from daemon import systemd


def build_parser() -> argparse.ArgumentParser:
    from daemon import commands

    parser = argparse.ArgumentParser(
        prog="intro-daemon", description="Finds the intros of TV episodes and gives media servers skip markers."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if _command(sys.argv[1:] if argv is None else argv) == "run":
        systemd.block_service_signals()  # before the imports below start threads (daemon.systemd says why)
    parser = build_parser()
    # A command that parses its own options (train) gets the ones this parser does not know.
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "passes_on_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.func(args) or 0)


def _command(argv: Sequence[str]) -> str | None:
    """The command named on the command line, before parsing it (the global options all start with "-")."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


if __name__ == "__main__":
    sys.exit(main())
