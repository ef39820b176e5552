"""`detect`, `eval` and `train` subcommands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Filled in by the detector work (detect, eval, train)."""
