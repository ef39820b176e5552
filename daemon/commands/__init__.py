"""`intro-daemon`'s commands, one module each with `register(...)` and the function it runs, in the order `--help`
lists them. `common` holds what the library commands share (the `--config`/`--library` options, loading the config),
`output` how they draw times, scores and progress."""

from __future__ import annotations

import argparse

from daemon.commands import adapt, common, detect, evaluate, push, rescan, run, show, status, train

MODEL_COMMANDS = (detect, evaluate, train)  # files and corpora named on the command line; no config
LIBRARY_COMMANDS = (run, rescan, status, show, adapt)  # take --config and --library


def register(sub: argparse._SubParsersAction) -> None:
    for command in MODEL_COMMANDS:
        command.register(sub)
    parent = common.options()
    for command in LIBRARY_COMMANDS:
        command.register(sub, parent)
    push.register(sub, common.options(library=False))
