"""What every media-server target shares (Jellyfin, Emby, Plex): its name and options, one HTTP client with the
server's auth headers, and the index of the server's items by file path."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, Protocol, TypeVar

import requests

from daemon.publish.base import EpisodeRef
from daemon.publish.http import HttpClient
from daemon.publish.items import ItemIndex
from daemon.publish.options import ServerOptions

T = TypeVar("T")


class HasServer(Protocol):
    @property
    def server(self) -> ServerOptions: ...


OptionsT = TypeVar("OptionsT", bound=HasServer)


class ServerTarget(Generic[OptionsT]):
    kind: str  # starts every message: "<kind> target '<name>'"

    def __init__(
        self,
        name: str,
        options: OptionsT,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.options = options
        self.clock = clock  # monotonic seconds
        label = f"{self.kind} target '{name}'"
        self.http = HttpClient.for_server(options.server, label=label, headers=self._headers(), session=session)
        self.items = ItemIndex(self._list_episodes, clock=clock)

    def _headers(self) -> Mapping[str, str]:
        """The auth headers sent with every request (`self.options` is set)."""
        raise NotImplementedError

    def _list_episodes(self) -> Iterator[tuple[str, str]]:
        """Every episode on the server as (its file's path as the server sees it, item id)."""
        raise NotImplementedError

    def run(self, episode: EpisodeRef, action: Callable[[str], T]) -> T:
        """`action(item_id)` on the server's item for the episode's file (see `ItemIndex.run`)."""
        server_path = self.options.server.path_map.to_server(episode.path)
        return self.items.run(self.http.label, episode.path, server_path, action)
