"""How the running service pushes markers: the publishers' `PushService` (daemon/publish/), run on its own thread
after each detection and every minute for retries that come due. Nothing here talks to a server itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from daemon.config import Config

PUSH_INTERVAL_S = 60.0  # retries are due at their own times; this is how late at most they are noticed


class Pusher(Protocol):
    @property
    def targets(self) -> list[str]:
        """The targets that get a push row per detection."""
        ...

    def probe(self) -> None: ...

    def run_due(self) -> Sequence[object]: ...


# Builds the pusher for a config (None: no targets), given the daemon's sessions and what to call after a
# publisher rewrote a media file. Raises ConfigError for bad target options.
PusherFactory = Callable[[Config, sessionmaker[Session], Callable[[Path], None]], Pusher | None]


def make_pusher(
    config: Config, sessions: sessionmaker[Session], on_file_changed: Callable[[Path], None]
) -> Pusher | None:
    from daemon.publish.config import build_publishers
    from daemon.publish.service import PushService

    publishers = build_publishers(config)
    if not publishers:
        return None
    return PushService(sessions, publishers, on_file_changed=on_file_changed)


def push_targets(config: Config) -> list[str]:
    """The target names a detection is queued for (some configured targets only serve others)."""
    from daemon.publish.config import build_publishers, publisher_names

    return publisher_names(build_publishers(config)) if config.targets else []
