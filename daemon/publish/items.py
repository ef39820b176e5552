"""Finding a server's item for a file. Servers have no "item by path" query, so each publisher lists
its episodes once, keeps a path -> id index, and lists again on a miss (it may have been added since), at
most once per `min_reload_s`, so that a run of unknown files does not re-list a large library for each."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from daemon.pathmap import server_key
from daemon.publish.errors import ItemNotFoundError, NotFoundError
from daemon.publish.http import HttpClient

log = logging.getLogger(__name__)

T = TypeVar("T")


class ItemIndex:
    def __init__(
        self,
        load: Callable[[], Iterable[tuple[str, str]]],  # yields (server path, item id)
        *,
        min_reload_s: float = 60.0,
        max_age_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._min_reload_s = min_reload_s
        # Ids also go stale without a 404 to say so (Emby's ChapterApi answers 500 for an unknown id), so the
        # whole index is re-read when it is this old.
        self._max_age_s = max_age_s
        self._clock = clock
        self._ids: dict[str, str] = {}
        self._loaded_at: float | None = None

    def find(self, server_path: str) -> str | None:
        key = server_key(server_path)
        age = None if self._loaded_at is None else self._clock() - self._loaded_at
        if age is None or age >= self._max_age_s or (key not in self._ids and age >= self._min_reload_s):
            self.reload()
        return self._ids.get(key)

    def run(self, label: str, path: Path, server_path: str, action: Callable[[str], T]) -> T:
        """`action(item_id)`; when the server answers 404 for a cached id (a rescan re-created the item),
        look the file up once more and try again with the new id."""
        item_id = self.find(server_path)
        if item_id is None:
            raise item_not_found(label, path, server_path)
        try:
            return action(item_id)
        except NotFoundError:
            self.forget(server_path)
            fresh_id = self.find(server_path)
            if fresh_id is None:
                raise item_not_found(label, path, server_path) from None
            if fresh_id == item_id:
                raise  # the id is current, so the route itself is missing
            return action(fresh_id)

    def reload(self) -> None:
        ids = {server_key(path): item_id for path, item_id in self._load() if path}
        self._ids = ids
        self._loaded_at = self._clock()
        log.debug("indexed %d items", len(ids))

    def forget(self, server_path: str) -> None:
        """Drop an id the server no longer knows (the item was re-created), and allow an immediate re-list."""
        self._ids.pop(server_key(server_path), None)
        self._loaded_at = None


def item_not_found(label: str, path: Path, server_path: str) -> ItemNotFoundError:
    mapped = "" if server_path == str(path) else f" (as the server sees it: {server_path})"
    return ItemNotFoundError(
        f"{label}: no item for {path}{mapped}; has the server scanned it yet? is the target's path_map right?"
    )


def mediabrowser_items(
    http: HttpClient, path: str, params: Mapping[str, str], paging: tuple[str, str], page_size: int
) -> Iterator[dict[str, Any]]:
    """Every item of a Jellyfin or Emby listing (both descend from MediaBrowser: pages of `Items` out of
    `TotalRecordCount`), asked for `page_size` at a time; `paging` names the start and limit parameters."""
    start_key, limit_key = paging
    start = 0
    while True:
        page = http.get(path, params={**params, start_key: start, limit_key: page_size})
        items = page.get("Items") or []
        yield from items
        start += len(items)
        if not items or start >= int(page.get("TotalRecordCount", 0)):
            return
