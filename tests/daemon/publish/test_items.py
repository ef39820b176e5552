from pathlib import Path

import pytest

from daemon.publish.errors import ItemNotFoundError, NotFoundError
from daemon.publish.items import ItemIndex


def test_a_miss_relists_at_most_once_per_interval() -> None:
    now = [0.0]
    listing = {"/tv/a.mkv": "1"}
    loads = []

    def load() -> list[tuple[str, str]]:
        loads.append(now[0])
        return list(listing.items())

    index = ItemIndex(load, min_reload_s=60, clock=lambda: now[0])
    assert index.find("/tv/a.mkv") == "1"
    listing["/tv/b.mkv"] = "2"
    assert index.find("/tv/b.mkv") is None  # listed a moment ago: no second listing yet
    now[0] = 61
    assert index.find("/tv/b.mkv") == "2"
    assert index.find("/tv/a.mkv") == "1"  # hits never relist
    assert loads == [0.0, 61]


def test_windows_server_paths_match_whatever_the_case_and_slashes() -> None:
    index = ItemIndex(lambda: [("D:\\TV\\Show\\E1.mkv", "7")])
    assert index.find("d:/tv/show/e1.mkv") == "7"


def test_run_retries_once_with_a_fresh_id() -> None:
    listing = {"/tv/a.mkv": "old"}
    index = ItemIndex(lambda: list(listing.items()))
    seen = []

    def action(item_id: str) -> str:
        seen.append(item_id)
        if item_id == "old":
            listing["/tv/a.mkv"] = "new"
            raise NotFoundError("404")
        return item_id

    assert index.run("t", Path("/tv/a.mkv"), "/tv/a.mkv", action) == "new"
    assert seen == ["old", "new"]
    listing.clear()
    index.forget("/tv/a.mkv")
    with pytest.raises(ItemNotFoundError, match=r"no item for /tv/a\.mkv"):
        index.run("t", Path("/tv/a.mkv"), "/tv/a.mkv", action)


def test_the_whole_index_is_reread_when_old() -> None:
    now = [0.0]
    listing = {"/tv/a.mkv": "1"}
    index = ItemIndex(lambda: list(listing.items()), max_age_s=3600, clock=lambda: now[0])
    assert index.find("/tv/a.mkv") == "1"
    listing["/tv/a.mkv"] = "2"  # re-created without any 404 telling us
    now[0] = 3599
    assert index.find("/tv/a.mkv") == "1"
    now[0] = 3600
    assert index.find("/tv/a.mkv") == "2"
