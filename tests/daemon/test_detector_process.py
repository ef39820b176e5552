"""The daemon's detection process (daemon/detector_process.py): real child processes, a light detector in them
(`load_fake` below, loaded by name in the child) except where the shipped loader itself is the point."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from daemon.config import WorkerConfig
from daemon.detect import DetectorLoadError, DetectorUnavailable, LoadedDetector
from daemon.detector_process import DetectorCrashed, DetectorPool
from detector import DecodeError, Detection, Intro
from detector.errors import MemoryLimitError
from detector.result import Segment

FAKE = "tests.daemon.test_detector_process:load_fake"
PARTS = (
    Segment("recap", 0.0, 8.0, 0.8, ("repetition",)),
    Segment("credits", 100.0, 115.0, 0.7, ("black-card",), final=True),
    Segment("preview", 115.0, 120.0, 0.6),
)


def load_fake(config: WorkerConfig, database_url: str) -> LoadedDetector:
    """(in the child) Answers by the file's first bytes; the model version names the process and the database."""

    def detect(path: Path, siblings: Sequence[Path] = ()) -> Detection:
        data = path.read_bytes()
        if data.startswith(b"KILL"):  # as the OOM killer would
            os.kill(os.getpid(), signal.SIGKILL)
        if data.startswith(b"CORRUPT"):
            raise DecodeError(path, "no video stream")
        if data.startswith(b"HUGE"):
            raise MemoryLimitError(path, "over the memory ceiling of 600 MB (worker.memory_limit_mb)")
        if data.startswith(b"CRASH"):
            raise RuntimeError("tensor shapes do not match")
        intro = Intro(10.0, 40.0, 0.9)
        others = PARTS if data.startswith(b"PARTS") else ()
        return Detection(path, 120.0, intro, f"fake/{os.getpid()}", (0.1,) * len(siblings), ("network",), "", others)

    def revisit(path: Path, siblings: Sequence[Path], settled: Detection | None) -> Detection | None:
        if settled is not None:
            return replace(settled, signals=(*settled.signals, "revisited"), model_version=f"fake/{os.getpid()}")
        return None if not siblings else detect(path, siblings)

    return LoadedDetector(detect=detect, model_version=f"fake/{database_url}", revisit=revisit)


@pytest.fixture
def pool() -> Iterator[DetectorPool]:
    pool = DetectorPool(WorkerConfig(), "sqlite:///nowhere.db", loader=FAKE, unload_after_s=0)
    yield pool
    pool.stop()


def episode(tmp_path: Path, name: str, content: bytes = b"MEDIA") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_a_detection_runs_in_the_child_and_comes_back_whole(pool: DetectorPool, tmp_path: Path) -> None:
    assert pool.model_version == "fake/sqlite:///nowhere.db"  # loaded there, with the daemon's database
    (pid,) = pool.processes()
    assert pid != os.getpid()
    siblings = [tmp_path / "E02.mkv", tmp_path / "E03.mkv"]
    detection = pool.detect(episode(tmp_path, "E01.mkv"), siblings)
    assert detection == Detection(
        tmp_path / "E01.mkv", 120.0, Intro(10.0, 40.0, 0.9), f"fake/{pid}", (0.1, 0.1), ("network",)
    )
    assert pool.revisit(tmp_path / "E01.mkv", []) is None
    revisited = pool.revisit(tmp_path / "E01.mkv", siblings)
    assert revisited is not None and revisited.model_version == f"fake/{pid}"
    settled = pool.revisit(tmp_path / "E01.mkv", siblings, detection)  # a settled result goes there and back
    assert settled is not None and settled.intro == detection.intro and settled.signals == ("network", "revisited")
    assert pool.processes() == [pid]  # the same process, loaded once


def test_the_other_segments_come_back_with_the_detection(pool: DetectorPool, tmp_path: Path) -> None:
    (pid,) = pool.processes()
    detection = pool.detect(episode(tmp_path, "E01.mkv", b"PARTS"))
    assert detection == Detection(
        tmp_path / "E01.mkv", 120.0, Intro(10.0, 40.0, 0.9), f"fake/{pid}", (), ("network",), "", PARTS
    )
    assert [s.kind for s in detection.segments] == ["recap", "intro", "credits", "preview"]


def test_the_process_exits_when_idle_and_the_next_episode_starts_another(tmp_path: Path) -> None:
    pool = DetectorPool(WorkerConfig(), "sqlite:///x.db", loader=FAKE, unload_after_s=0.5)
    try:
        (first,) = pool.processes()
        deadline = time.monotonic() + 15
        while alive(first) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(first)
        assert pool.processes() == []
        detection = pool.detect(episode(tmp_path, "E01.mkv"))
        assert detection.intro == Intro(10.0, 40.0, 0.9)
        (second,) = pool.processes()
        assert second != first and detection.model_version == f"fake/{second}"
    finally:
        pool.stop()


def test_a_file_the_decoder_refuses_comes_back_as_the_same_error(pool: DetectorPool, tmp_path: Path) -> None:
    broken = episode(tmp_path, "broken.mkv", b"CORRUPT")
    with pytest.raises(DecodeError) as refused:
        pool.detect(broken)
    assert type(refused.value) is DecodeError
    assert (refused.value.path, refused.value.cause) == (broken, "no video stream")
    huge = episode(tmp_path, "huge.mkv", b"HUGE")
    with pytest.raises(MemoryLimitError, match=r"worker\.memory_limit_mb") as over:
        pool.detect(huge)
    assert over.value.path == huge
    assert pool.detect(episode(tmp_path, "fine.mkv")).intro is not None  # the same process goes on


def test_an_unexpected_error_is_named_by_its_type_and_the_process_stays(pool: DetectorPool, tmp_path: Path) -> None:
    (pid,) = pool.processes()
    with pytest.raises(DetectorCrashed, match="RuntimeError: tensor shapes do not match"):
        pool.detect(episode(tmp_path, "odd.mkv", b"CRASH"))
    assert pool.processes() == [pid]


def test_a_process_killed_mid_detection_costs_that_episode_not_the_daemon(pool: DetectorPool, tmp_path: Path) -> None:
    (pid,) = pool.processes()
    with pytest.raises(DetectorCrashed, match=r"killed \(SIGKILL\), most likely for memory") as crashed:
        pool.detect(episode(tmp_path, "big.mkv", b"KILL"))
    assert "worker.memory_limit_mb" in str(crashed.value)
    assert pool.processes() == [] and not alive(pid)
    assert pool.detect(episode(tmp_path, "next.mkv")).intro == Intro(10.0, 40.0, 0.9)
    (again,) = pool.processes()
    assert again != pid


def test_after_stop_an_episode_is_given_back_not_failed(pool: DetectorPool, tmp_path: Path) -> None:
    (pid,) = pool.processes()
    pool.stop()
    assert not alive(pid)
    with pytest.raises(DetectorUnavailable) as given_back:
        pool.detect(episode(tmp_path, "E01.mkv"))
    assert given_back.value.retry_in_s is None


@pytest.mark.slow
def test_weights_that_cannot_be_loaded_fail_the_start_with_the_file_named(tmp_path: Path) -> None:
    missing = tmp_path / "weights.pt"
    with pytest.raises(DetectorLoadError, match=f"cannot load the detector \\({missing}\\)"):
        DetectorPool(WorkerConfig(weights=missing), f"sqlite:///{tmp_path / 'state.db'}")
