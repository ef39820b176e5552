"""`intro-daemon` entry point: the commands come from `daemon.commands`; logging is configured only here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from daemon import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intro-daemon", description="Finds the intros of TV episodes and gives media servers skip markers."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
