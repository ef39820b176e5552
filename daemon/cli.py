"""`intro-daemon` entry point: the commands come from `daemon.commands`; logging is configured only here.

The commands are imported after `run` has blocked the service's signals (see daemon/systemd.py)."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Sequence
from types import TracebackType

from daemon import systemd
from daemon.redact import redact
from detector.memory import release_freed_memory_promptly


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
    release_freed_memory_promptly()
    _log_to_stderr(logging.DEBUG if args.verbose else logging.INFO)
    return int(args.func(args) or 0)


class RedactingFormatter(logging.Formatter):
    """Blanks out every secret the process holds in the whole line, traceback included, whichever library logged
    it (urllib3 logs URLs with their query strings; an exception's message may quote a server's answer)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _log_to_stderr(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    if handler in logging.getLogger().handlers:  # not when the root logger had handlers already (tests)
        # A crash's traceback goes through the same handler, not straight to stderr.
        sys.excepthook = _log_crash
        threading.excepthook = lambda crash: _log_crash(crash.exc_type, crash.exc_value, crash.exc_traceback)


def _log_crash(kind: type[BaseException], error: BaseException | None, trace: TracebackType | None) -> None:
    if issubclass(kind, SystemExit):
        return  # a thread's normal way out
    logging.getLogger("daemon.cli").critical("crashed", exc_info=(kind, error, trace))  # type: ignore[arg-type]


def _command(argv: Sequence[str]) -> str | None:
    """The command named on the command line, before parsing it (the global options all start with "-")."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


if __name__ == "__main__":
    sys.exit(main())
