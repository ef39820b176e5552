"""`intro-daemon train ...`: train the network on a labelled corpus (detector.training.command has its options)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    # The trainer owns its options (python -m detector.train takes the same); handing it the rest of the command
    # line keeps torch out of every other command's start-up, `--help` included.
    train_parser = sub.add_parser(
        "train", help="train the network on a labelled corpus (train --help: its options)", add_help=False
    )
    train_parser.set_defaults(func=run_train, passes_on_arguments=True)


def run_train(args: argparse.Namespace) -> int:
    from detector.training import command

    return command.main(args.rest, prog="intro-daemon train")
