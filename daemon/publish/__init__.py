"""Publishers: one module per kind of target (Jellyfin, Emby, Plex database, Plex HTTP, Kodi EDL, Matroska
chapters) behind `Publisher`, registered by kind in `daemon.publish.config.KINDS`; `pusher` pushes what is due."""

from daemon.publish.base import EpisodeRef, Publisher, PushAction, PushResult
from daemon.publish.errors import PermanentPublishError, PublishError, TransientPublishError

__all__ = [
    "EpisodeRef",
    "PermanentPublishError",
    "PublishError",
    "Publisher",
    "PushAction",
    "PushResult",
    "TransientPublishError",
]
