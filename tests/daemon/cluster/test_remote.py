"""A cluster worker's reply crosses to the daemon as Dask serializes a task's result: the detection's other
segments (recap, credits, preview) arrive with it, and the daemon keeps them when it puts its own path back."""

from __future__ import annotations

from pathlib import Path

import pytest
from distributed.protocol import deserialize, serialize

from daemon.cluster import remote
from daemon.cluster.client import ClusterDetect
from daemon.config import ClusterConfig
from daemon.pathmap import PathMap
from detector.result import Detection, Intro, Segment
from detector.season import MemoryStore

OTHERS = (
    Segment("recap", 0.0, 42.5, 0.8, ("repetition",)),
    Segment("credits", 2510.0, 2570.0, 0.7, ("black-card", "text"), final=True),
    Segment("preview", 2570.0, 2600.0, 0.6),
)


def over_the_wire(reply: remote.Reply) -> remote.Reply:
    header, frames = serialize(reply)  # what a worker does with a task's result (dask, else pickle)
    answer: remote.Reply = deserialize(header, frames)
    return answer


def test_the_other_segments_reach_the_daemon_with_the_daemon_s_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_there = Path("/srv/tv/S1/e1.mkv")
    found = Detection(seen_there, 2600.0, Intro(60.0, 110.0, 0.9), "m1", (0.5, 0.9), ("network",), "", OTHERS)
    reply = over_the_wire(remote.Reply(found, {}, worker="w1"))
    assert reply.detection == found

    here = tmp_path / "tv" / "S1" / "e1.mkv"
    maps = PathMap.from_pairs([(tmp_path / "tv", "/srv/tv")])
    cluster = ClusterDetect(ClusterConfig("tcp://127.0.0.1:1", path_maps=maps), MemoryStore(), "m1")
    sent: list[remote.Request] = []

    def answer(_client: object, request: remote.Request) -> remote.Reply:
        sent.append(request)
        return reply

    monkeypatch.setattr(cluster, "_connected", object)  # no scheduler: the reply above is the answer
    monkeypatch.setattr(cluster, "_run", answer)
    detection = cluster(here)
    assert sent[0].path == str(seen_there)
    assert (detection.path, detection.computed_by, detection.others) == (here, "w1", OTHERS)
    assert [s.kind for s in detection.segments] == ["recap", "intro", "credits", "preview"]
