"""Publishers: one per kind of target (Jellyfin, Emby, Plex, Kodi EDL, Matroska chapters) behind `Publisher`."""

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
