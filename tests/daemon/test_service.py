"""The service in-process: real watchdog observer, APScheduler with its SQLite job store, real files; the detector
is the fake (the subprocess tests in test_daemon_run.py use the real one)."""

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon import service
from daemon.adapted import AdaptedModels, worker_config
from daemon.commands.adapt import requeue_lone_decided
from daemon.config import Config, load_config
from daemon.detect import LoadedDetector
from daemon.queue import job_id
from daemon.service import Daemon
from db import episodes
from db.migrate import upgrade
from db.models import DetectionRecord, Episode, EpisodeState
from db.session import make_engine, make_sessions
from tests.conftest import FakeDetector, write_slowly


def make_config(tmp_path: Path, *folders: Path, settle_s: float = 0.3) -> Config:
    config = load_config(None, library=folders or [tmp_path / "lib"], env={"STATE_DIRECTORY": str(tmp_path / "st")})
    return dataclasses.replace(config, library=dataclasses.replace(config.library, settle_s=settle_s))


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    (tmp_path / "lib" / "Show" / "S01").mkdir(parents=True)
    return tmp_path / "lib"


class Running:
    def __init__(self, tmp_path: Path, fake: FakeDetector) -> None:
        self.tmp_path, self.fake = tmp_path, fake
        self.daemon: Daemon | None = None

    def start(self, config: Config, owner: str = "host:test") -> Daemon:
        self.daemon = Daemon(config, LoadedDetector(self.fake.detect, self.fake.model_version), owner=owner)
        self.daemon.start()
        self.sessions = make_sessions(make_engine(config.state.database_url))
        return self.daemon

    def stop(self, grace_s: float = 5.0) -> bool:
        assert self.daemon is not None
        daemon, self.daemon = self.daemon, None
        return daemon.stop(grace_s)

    def query(self, fn: Callable[[Session], object]) -> object:
        with self.sessions() as s:
            return fn(s)

    def wait(self, fn: Callable[[Session], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.query(fn):
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)

    def state(self, path: Path) -> str | None:
        episode = self.query(lambda s: episodes.get(s, str(path)))
        return episode.state if isinstance(episode, Episode) else None

    def detections(self) -> int:
        return int(self.query(lambda s: s.scalar(select(func.count(DetectionRecord.id)))))  # type: ignore[arg-type]


@pytest.fixture
def running(tmp_path: Path, fake_detector: FakeDetector) -> Iterator[Running]:
    r = Running(tmp_path, fake_detector)
    yield r
    if r.daemon is not None:
        r.stop()


def test_a_slow_copy_is_detected_once_when_complete(running: Running, lib: Path, tmp_path: Path) -> None:
    running.start(make_config(tmp_path))
    path = lib / "Show" / "S01" / "e1.mkv"
    data = b"video" * 20000
    write_slowly(path, data)
    running.wait(lambda s: episodes.get(s, str(path)) is not None and episodes.get(s, str(path)).state == "done")
    time.sleep(0.5)  # nothing else arrives later
    assert [(c[0], c[2]) for c in running.fake.calls] == [(path, len(data))]
    assert running.detections() == 1


def test_moves_keep_results_and_deletions_mark_missing(running: Running, lib: Path, tmp_path: Path) -> None:
    running.start(make_config(tmp_path))
    season = lib / "Show" / "S01"
    (season / "e1.mkv").write_bytes(b"one")
    running.wait(lambda s: running.state(season / "e1.mkv") == "done")
    (season / "e1.mkv").rename(season / "Episode 1.mkv")
    running.wait(lambda s: running.state(season / "Episode 1.mkv") == "done")
    season.rename(lib / "Show" / "Season 1")
    moved = lib / "Show" / "Season 1" / "Episode 1.mkv"
    running.wait(lambda s: running.state(moved) == "done")
    assert running.state(season / "e1.mkv") is None and len(running.fake.calls) == 1
    moved.unlink()
    running.wait(lambda s: running.state(moved) == "missing")
    assert running.detections() == 1  # kept, in case it comes back


def test_bad_files_end_in_clear_states_while_others_go_on(running: Running, lib: Path, tmp_path: Path) -> None:
    running.fake.gate = threading.Event()  # hold the first detection so the others queue up behind it
    running.start(make_config(tmp_path))
    season = lib / "Show" / "S01"
    (season / "a.mkv").write_bytes(b"first")
    assert running.fake.entered.wait(10)
    (season / "corrupt.mkv").write_bytes(b"CORRUPT data")
    (season / "empty.mkv").write_bytes(b"")
    (season / "doomed.mkv").write_bytes(b"bytes")
    (season / "z.mkv").write_bytes(b"last")
    daemon = running.daemon
    assert daemon is not None
    running.wait(
        lambda s: running.state(season / "doomed.mkv") == "pending" and daemon.queue.has(season / "doomed.mkv")
    )
    (season / "doomed.mkv").unlink()
    running.wait(lambda s: running.state(season / "doomed.mkv") == "missing")
    running.fake.gate.set()
    running.wait(lambda s: running.state(season / "z.mkv") == "done")
    running.wait(lambda s: running.state(season / "empty.mkv") == "failed")
    corrupt = running.query(lambda s: episodes.get(s, str(season / "corrupt.mkv")))
    empty = running.query(lambda s: episodes.get(s, str(season / "empty.mkv")))
    assert isinstance(corrupt, Episode) and isinstance(empty, Episode)
    assert (corrupt.state, corrupt.last_error) == ("failed", "unusable media: no video stream")
    assert (empty.state, empty.last_error) == ("failed", "empty file (0 bytes)")
    assert running.state(season / "a.mkv") == "done"
    assert "doomed.mkv" not in [c[0].name for c in running.fake.calls]


def test_start_requeues_interrupted_and_pending_work(tmp_path: Path, lib: Path, running: Running) -> None:
    """What a SIGKILL leaves behind: a claim by a dead process, pending rows whose jobs were in memory."""
    config = make_config(tmp_path)
    season = lib / "Show" / "S01"
    for name in ("killed.mkv", "waiting.mkv", "done.mkv"):
        (season / name).write_bytes(name.encode())
    engine = make_engine(config.state.database_url)
    upgrade(engine)
    with make_sessions(engine).begin() as s:
        for name in ("killed.mkv", "waiting.mkv"):
            st = (season / name).stat()
            episode = episodes.note_seen(s, episodes.Seen(str(season / name), str(season), st.st_size, st.st_mtime_ns))
        killed = episodes.get(s, str(season / "killed.mkv"))
        assert killed is not None and episode is not None
        episodes.claim(s, killed.id, "host:test", {EpisodeState.PENDING})  # our own id: pid reused after a kill
    engine.dispose()
    running.start(config, owner="host:test")
    for name in ("killed.mkv", "waiting.mkv", "done.mkv"):  # done.mkv: found by the start-up reconcile scan
        running.wait(lambda s, name=name: running.state(season / name) == "done")
    assert running.detections() == 3


def test_stop_waits_for_the_running_detection_or_requeues_it(running: Running, lib: Path, tmp_path: Path) -> None:
    running.fake.gate = threading.Event()
    running.start(make_config(tmp_path))
    path = lib / "Show" / "S01" / "slow.mkv"
    path.write_bytes(b"slow")
    assert running.fake.entered.wait(10)
    started = time.monotonic()
    assert running.stop(grace_s=0.5) is False
    assert time.monotonic() - started < 2
    assert running.state(path) == "pending"
    running.fake.gate.set()

    running.fake.gate = None
    running.start(make_config(tmp_path))
    running.wait(lambda s: running.state(path) == "done")
    assert running.detections() == 1
    assert running.stop() is True


def test_reload_watches_new_folders(running: Running, lib: Path, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    daemon = running.start(config)
    other = tmp_path / "anime"
    other.mkdir()
    daemon.reload(dataclasses.replace(config, library=dataclasses.replace(config.library, folders=(lib, other))))
    (other / "e1.mkv").write_bytes(b"x")
    running.wait(lambda s: running.state(other / "e1.mkv") == "done")


def test_changes_while_down_are_reconciled(running: Running, lib: Path, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    season = lib / "Show" / "S01"
    (season / "e1.mkv").write_bytes(b"one")
    (season / "e2.mkv").write_bytes(b"two")
    running.start(config)
    running.wait(lambda s: running.state(season / "e2.mkv") == "done")
    running.stop()
    (season / "e1.mkv").rename(season / "renamed.mkv")
    (season / "e2.mkv").unlink()
    (season / "e3.mkv").write_bytes(b"three")
    running.start(config)
    running.wait(lambda s: running.state(season / "e3.mkv") == "done")
    assert running.state(season / "renamed.mkv") == "done"
    assert running.state(season / "e2.mkv") == "missing"
    assert running.detections() == 3 and len(running.fake.calls) == 3
    daemon = running.daemon
    assert daemon is not None and not daemon.queue.has(season / "e3.mkv")
    assert job_id(season / "e3.mkv")


class FakePusher:
    """What the daemon expects of a `Pusher` (daemon/publish/pusher.py); rewrites the file like Matroska chapters do."""

    def __init__(self, on_file_changed: Callable[[Path], None], sessions: object) -> None:
        self.on_file_changed = on_file_changed
        self.probes = 0
        self.pushed: list[str] = []
        self.done = threading.Event()

    @property
    def targets(self) -> list[str]:
        return ["home"]

    def probe(self) -> None:
        self.probes += 1

    def resume_at(self) -> None:
        return None

    def run_due(self, *, stopping: threading.Event | None = None) -> list[object]:
        from db.models import Push

        with make_sessions(make_engine(self.engine_url)).begin() as s:
            due = s.scalars(select(Push).where(Push.state == "pending")).all()
            for push in due:
                path = Path(push.episode.path)
                with path.open("ab") as f:
                    f.write(b"chapters")
                push.state = "done"
                self.pushed.append(path.name)
        for name in self.pushed:
            self.on_file_changed(Path(self.root) / name)
        if self.pushed:
            self.done.set()
        return []


def test_results_are_pushed_and_a_publishers_rewrite_is_not_a_new_file(
    running: Running, lib: Path, tmp_path: Path
) -> None:
    pushers: list[FakePusher] = []
    season = lib / "Show" / "S01"

    def factory(config: Config, sessions: object, on_file_changed: Callable[[Path], None]) -> FakePusher:
        pusher = FakePusher(on_file_changed, sessions)
        pusher.engine_url, pusher.root = config.state.database_url, str(season)  # type: ignore[attr-defined]
        pushers.append(pusher)
        return pusher

    config = make_config(tmp_path)
    running.daemon = Daemon(config, LoadedDetector(running.fake.detect, "fake-1"), pusher_factory=factory)
    running.daemon.start()
    running.sessions = make_sessions(make_engine(config.state.database_url))
    (season / "e1.mkv").write_bytes(b"one")
    assert pushers[0].done.wait(10)
    time.sleep(1.5)  # settle time passes for the rewrite's events: still nothing new to detect
    assert pushers[0].pushed == ["e1.mkv"] and pushers[0].probes == 1
    assert running.state(season / "e1.mkv") == "done"
    assert len(running.fake.calls) == 1
    detection = running.query(lambda s: episodes.latest_detection(s, episodes.get(s, str(season / "e1.mkv")).id))
    assert isinstance(detection, DetectionRecord)
    assert detection.file_size == (season / "e1.mkv").stat().st_size


def test_a_lone_model_made_active_is_taken_up_without_a_restart(
    tmp_path: Path, lib: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `intro-daemon adapt` leaves (a new active version, the lone-decided episodes pending again) is picked
    up by the running service: it loads the detector again and redoes those episodes, and only those."""
    monkeypatch.setattr(service, "MODEL_CHECK_S", 0.2)
    config = make_config(tmp_path)
    season = lib / "Show" / "S01"
    (season / "alone.mkv").write_bytes(b"alone")  # the lone network's answer
    (season / "sound.mkv").write_bytes(b"SOUND")  # the season's repetition decided it
    loaded: list[FakeDetector] = []

    def reload(config: Config) -> LoadedDetector:
        lone = worker_config(config).lone_weights
        fake = FakeDetector()
        fake.model_version = f"season-1+{lone.stem if lone else 'seed-1'}/post20"
        loaded.append(fake)
        return LoadedDetector(fake.detect, fake.model_version)

    daemon = Daemon(config, reload(config), owner="host:test", reload_detector=reload)
    daemon.start()
    sessions = make_sessions(make_engine(config.state.database_url))

    def versions() -> dict[str, str]:
        with sessions() as s:
            return {
                Path(r.episode.path).name: r.model_version
                for r in s.scalars(select(DetectionRecord).order_by(DetectionRecord.id))
            }

    def wait_for(expected: dict[str, str]) -> None:
        deadline = time.monotonic() + 10
        while versions() != expected:
            assert time.monotonic() < deadline, f"{versions()} != {expected}"
            time.sleep(0.05)

    try:
        wait_for({"alone.mkv": "season-1+seed-1/post20", "sound.mkv": "season-1+seed-1/post20"})
        store = AdaptedModels(config.state.dir)
        weights = tmp_path / "adapt-20261207-120000.pt"
        weights.write_bytes(b"weights")
        store.use(store.add(weights, "# Model card"))
        assert requeue_lone_decided(config) == 1
        wait_for({"alone.mkv": "season-1+adapt-20261207-120000/post20", "sound.mkv": "season-1+seed-1/post20"})
        assert len(loaded) == 2 and [c[0].name for c in loaded[1].calls] == ["alone.mkv"]
        store.rollback()
        assert requeue_lone_decided(config) == 1
        wait_for({"alone.mkv": "season-1+seed-1/post20", "sound.mkv": "season-1+seed-1/post20"})
        assert len(loaded) == 3 and [c[0].name for c in loaded[2].calls] == ["alone.mkv"]
        assert sorted(c[0].name for c in loaded[0].calls) == ["alone.mkv", "sound.mkv"]
    finally:
        daemon.stop(5.0)


def test_a_lone_model_that_cannot_be_loaded_leaves_the_detections_going(
    tmp_path: Path, lib: Path, fake_detector: FakeDetector, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path)
    season = lib / "Show" / "S01"

    def broken(config: Config) -> LoadedDetector:
        raise RuntimeError("weights unreadable")

    daemon = Daemon(config, LoadedDetector(fake_detector.detect, "fake-1"), owner="host:test", reload_detector=broken)
    daemon.start()
    sessions = make_sessions(make_engine(config.state.database_url))
    try:
        store = AdaptedModels(config.state.dir)
        weights = tmp_path / "adapt-20261207-120000.pt"
        weights.write_bytes(b"weights")
        store.use(store.add(weights, "# Model card"))
        (season / "e1.mkv").write_bytes(b"one")
        deadline = time.monotonic() + 10
        while True:
            with sessions() as s:
                episode = episodes.get(s, str(season / "e1.mkv"))
                if episode is not None and episode.state == "done":
                    break
            assert time.monotonic() < deadline, "the episode was not detected"
            time.sleep(0.05)
        assert "loading it failed; detections go on with model fake-1" in caplog.text
    finally:
        daemon.stop(5.0)
