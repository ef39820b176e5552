"""The service's commands, one module each with `register(sub, parent)` and `main(args)`, in the order `--help`
lists them. `common` holds what they share (the `--config`/`--library` options, loading the config), `output` how
they draw times, scores and progress."""

from __future__ import annotations

import argparse

from daemon.commands import common, push, rescan, run, show, status

COMMANDS = (run, rescan, status, show)  # take --config and --library


def register(sub: argparse._SubParsersAction) -> None:
    parent = common.options()
    for command in COMMANDS:
        command.register(sub, parent)
    push.register(sub, common.options(library=False))
