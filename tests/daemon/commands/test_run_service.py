"""`intro-daemon run` as a real subprocess with the real detector on generated episodes: slow copies, SIGKILL in
the middle of a detection, bad files, SIGHUP and SIGTERM. Reads the daemon's SQLite database as it goes."""

import dataclasses
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import write_slowly

pytestmark = pytest.mark.slow

TIMEOUT_S = 90.0


class Service:
    def __init__(self, tmp_path: Path, weights: Path | None) -> None:
        self.lib = tmp_path / "lib"
        self.season = self.lib / "Show" / "Season 1"
        self.season.mkdir(parents=True)
        self.db = tmp_path / "state" / "intro-daemon.db"
        self.config = tmp_path / "config.toml"
        self.config.write_text(
            f'[library]\nfolders = ["{self.lib}"]\nsettle_s = 1.0\n'
            f'[state]\ndir = "{tmp_path / "state"}"\n'
            "[worker]\ntorch_threads = 1\nnice = 0\n" + (f'weights = "{weights}"\n' if weights else "")
        )
        self.log = tmp_path / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, prefix: Sequence[str] = (), options: Sequence[str] = ()) -> None:
        """Start `intro-daemon [options] run`, under `prefix` (a command that runs its arguments) when given."""
        argv = [*prefix, *intro_daemon(), *options, "run", "--config", str(self.config)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log)
        self.wait(lambda: "watching" in self.log_text(), "the daemon to start")

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        if sig == signal.SIGHUP:
            return 0
        rc = self.proc.wait(15)
        self.proc = None
        return rc

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def rows(self, sql: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
        if not self.db.exists():
            return []
        with sqlite3.connect(self.db, timeout=30) as c:
            try:
                return c.execute(sql, args).fetchall()
            except sqlite3.OperationalError:  # tables not created yet
                return []

    def states(self) -> dict[str, str]:
        return {Path(p).name: s for p, s in self.rows("SELECT path, state FROM episodes")}

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"daemon exited ({self.proc.returncode}) waiting for {what}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}: {self.states()}\n{self.log_text()}")
            time.sleep(0.01)


def intro_daemon() -> list[str]:
    """The command line that runs `intro-daemon` from this environment."""
    script = Path(sys.executable).with_name("intro-daemon")
    return [str(script)] if script.exists() else [sys.executable, "-m", "daemon.cli"]


@pytest.fixture
def service(tmp_path: Path, detector_weights: Path | None) -> Iterator[Service]:
    s = Service(tmp_path, detector_weights)
    yield s
    if s.proc is not None:
        s.proc.kill()
        s.proc.wait()


def drop_in(src: Path, dest: Path) -> None:
    """How download clients finish: write under a partial name, then rename."""
    part = dest.with_name(dest.name + ".part")
    shutil.copy(src, part)
    part.rename(dest)


def test_slow_copy_then_sigkill_during_a_detection(service: Service, season_media: list[Path]) -> None:
    service.start()
    first = service.season / "S01E01.mkv"
    write_slowly(first, season_media[0].read_bytes(), chunks=10, seconds=3.0)
    service.wait(lambda: service.states().get("S01E01.mkv") == "done", "the first episode")
    (size,) = service.rows("SELECT file_size FROM detections")[0]
    assert size == season_media[0].stat().st_size  # detected once, on the complete file
    assert len(service.rows("SELECT id FROM detections")) == 1
    service.wait(lambda: "S01E01.mkv: done" in service.log_text(), "its log line")  # written after the commit

    names = [f"S01E{n:02d}.mkv" for n in range(2, 10)]
    for n, name in enumerate(names):
        drop_in(season_media[n % len(season_media)], service.season / name)
    service.wait(lambda: "processing" in service.states().values(), "a detection to start")
    assert service.signal(signal.SIGKILL) == -signal.SIGKILL
    left = service.states()
    assert "processing" in left.values()  # killed mid-detection: the claim is still in the database

    service.start()
    service.wait(lambda: set(service.states().values()) == {"done"} and len(service.states()) == 9, "all done")
    assert "interrupted last time, queued again" in service.log_text()
    per_episode = service.rows("SELECT episode_id, COUNT(*) FROM detections GROUP BY episode_id")
    assert len(per_episode) == 9 and {n for _, n in per_episode} == {1}  # nothing duplicated
    assert service.rows("SELECT COUNT(*) FROM episodes WHERE claimed_by IS NOT NULL") == [(0,)]

    started = time.monotonic()
    assert service.signal(signal.SIGTERM) == 0
    assert time.monotonic() - started < 10


def test_bad_files_end_in_clear_states_while_the_others_go_on(service: Service, season_media: list[Path]) -> None:
    service.start()
    for n in range(8):  # keep the worker busy so the files below wait in the queue
        drop_in(season_media[n % len(season_media)], service.season / f"good{n}.mkv")
    service.wait(lambda: "processing" in service.states().values(), "the first detection")
    (service.season / "corrupt.mkv").write_bytes(os.urandom(200_000))
    (service.season / "empty.mkv").write_bytes(b"")
    half = season_media[0].read_bytes()
    (service.season / "truncated.mkv").write_bytes(half[: len(half) // 2])
    drop_in(season_media[1], service.season / "doomed.mkv")
    service.wait(lambda: service.states().get("doomed.mkv") == "pending", "doomed.mkv to be queued")
    (service.season / "doomed.mkv").unlink()
    drop_in(season_media[2], service.season / "after.mkv")

    def settled() -> bool:
        states = service.states()
        return len(states) == 13 and not {"pending", "processing"} & set(states.values())

    service.wait(settled, "every file to end")
    states = service.states()
    assert states.pop("doomed.mkv") == "missing"
    errors = dict(service.rows("SELECT path, last_error FROM episodes WHERE state = 'failed'"))
    errors = {Path(p).name: e for p, e in errors.items()}
    assert set(errors) == {"corrupt.mkv", "empty.mkv", "truncated.mkv"}
    assert errors["empty.mkv"] == "empty file (0 bytes)"
    assert errors["corrupt.mkv"].startswith("unusable media: ") and errors["truncated.mkv"].startswith(
        "unusable media: "
    )
    assert {states[f"good{n}.mkv"] for n in range(8)} == {"done"} and states["after.mkv"] == "done"

    service.config.write_text(service.config.read_text().replace("settle_s = 1.0", "settle_s = 1.5"))
    service.signal(signal.SIGHUP)
    service.wait(lambda: "configuration reloaded" in service.log_text(), "the reload")
    service.config.write_text(service.config.read_text() + "\nbogus = 1\n")
    service.signal(signal.SIGHUP)
    service.wait(lambda: "configuration not reloaded: worker.bogus: unknown key" in service.log_text(), "the refusal")
    assert service.signal(signal.SIGTERM) == 0


def blocked_signals(pid: int) -> dict[int, int]:
    """Each thread of `pid` (by thread id) and the mask of the signals it blocks, from /proc."""
    masks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        (line,) = (line for line in status.splitlines() if line.startswith("SigBlk:"))
        masks[int(task.name)] = int(line.split()[1], 16)
    return masks


def test_a_burst_of_reloads_during_detections_and_pushes_leaves_it_running(
    service: Service, season_media: list[Path]
) -> None:
    service.config.write_text(service.config.read_text() + '[[targets]]\nname = "edl"\nkind = "kodi"\n')
    service.start()
    assert service.proc is not None
    service_signals = (1 << (signal.SIGHUP - 1)) | (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    for n in range(6):
        drop_in(season_media[n % len(season_media)], service.season / f"S01E{n + 1:02d}.mkv")
    service.wait(lambda: "processing" in service.states().values(), "a detection to start")
    masks = blocked_signals(service.proc.pid)
    del masks[service.proc.pid]  # the main thread, in sigwait, which unblocks what it waits for while it waits
    assert masks  # the worker, the scheduler, the observer, OpenBLAS's threads
    # A thread that does not block them would take a SIGHUP at its default action, which ends the process.
    assert {tid: mask & service_signals for tid, mask in masks.items()} == dict.fromkeys(masks, service_signals)

    for n in range(50):
        service.signal(signal.SIGHUP)
        time.sleep(0.002 * (n % 5))  # some back to back, some while the previous reload runs
    service.wait(lambda: service.log_text().count("configuration reloaded") >= 1, "the reloads")
    service.wait(lambda: service.rows("SELECT COUNT(*) FROM pushes WHERE state = 'done'")[0][0] >= 2, "two pushes")
    assert service.proc.poll() is None

    started = time.monotonic()
    assert service.signal(signal.SIGTERM) == 0
    assert time.monotonic() - started < 10
    assert service.rows("SELECT COUNT(*) FROM episodes WHERE claimed_by IS NOT NULL") == [(0,)]
    assert set(service.states().values()) <= {"pending", "done"}  # a detection cut short is queued again
    done = {Path(p).name for (p,) in service.rows("SELECT path FROM episodes WHERE state = 'done'")}
    pushed = {
        Path(p).name
        for (p,) in service.rows(
            "SELECT e.path FROM pushes p JOIN episodes e ON e.id = p.episode_id WHERE p.state = 'done'"
        )
    }
    assert pushed <= done and {name[:-4] + ".edl" for name in pushed} <= {p.name for p in service.season.iterdir()}


def inotify_limit(watches: int) -> list[str]:
    """A prefix that runs a command in a user namespace of its own whose inotify watch limit is `watches`: the
    kernel's real limit, for this process only."""
    script = f'echo {watches} > /proc/sys/user/max_inotify_watches && exec "$@"'
    prefix = ["unshare", "--user", "--map-root-user", "sh", "-c", script, "sh"]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no user namespace with its own inotify limit here: {probe.stderr.decode().strip()}")
    return prefix


def test_at_inotify_s_watch_limit_the_rest_is_polled(service: Service) -> None:
    shows = [service.lib / f"Show {c}" / "Season 1" for c in "ABCDEF"]
    for season in shows:
        season.mkdir(parents=True)
    shutil.rmtree(service.lib / "Show")
    service.config.write_text(
        service.config.read_text().replace("settle_s = 1.0", "settle_s = 0.5\npoll_interval_s = 0.5")
    )
    # 13 folders, 8 watches: the library folder alone, shows A-C whole, D alone; D's season, E and F are polled.
    service.start(inotify_limit(8))
    new = [
        shows[0] / "a.mkv",  # under inotify
        shows[5] / "f.mkv",  # polled from the start
        service.lib / "Show G" / "Season 1" / "g.mkv",  # a new show: the library folder's watch sees it, polled
        service.lib / "Show A" / "Season 2" / "a2.mkv",  # a new season where no watch is left: polled from then on
    ]
    for path in new:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not a video")
    names = {p.name for p in new}
    service.wait(lambda: names <= set(service.states()), "every new file to be queued")
    time.sleep(1.0)
    later = service.lib / "Show A" / "Season 2" / "later.mkv"  # written after its folder got a poller
    later.write_bytes(b"not a video")
    service.wait(lambda: "later.mkv" in service.states(), "a file in the late-polled folder")
    assert service.log_text().count("inotify's watch limit is reached") == 1
    assert "Unable to watch" not in service.log_text()
    assert service.signal(signal.SIGTERM) == 0


def test_a_lone_model_made_active_is_loaded_without_a_restart(service: Service, season_media: list[Path]) -> None:
    """`intro-daemon adapt --use` beside the running service: it loads the detector with the new lone model and
    detects again the episode the lone network had decided, stamped with the new version."""
    from daemon.adapted import AdaptedModels
    from detector.checkpoint import Checkpoint
    from detector.weights import MODELS

    service.start()
    drop_in(season_media[0], service.season / "S01E01.mkv")  # alone in its season: the lone network decides
    service.wait(lambda: service.states().get("S01E01.mkv") == "done", "the lone episode")
    ((shipped,),) = service.rows("SELECT model_version FROM detections")
    # A version as `adapt` keeps them: the shipped lone weights under another version (what they learnt is
    # adapt's tests' concern; here, which model the running service detects with).
    name = "adapt-20261207-120000"
    weights = service.lib.parent / f"{name}.pt"
    dataclasses.replace(Checkpoint.load(MODELS["seed"]), version=f"seed+{name}").save(weights)
    store = AdaptedModels(service.db.parent)
    store.add(weights, "# Model card")
    assert subprocess.run([*intro_daemon(), "adapt", "--config", str(service.config), "--use", name]).returncode == 0
    service.wait(lambda: len(service.rows("SELECT id FROM detections")) == 2, "the episode detected again")
    versions = [v for (v,) in service.rows("SELECT model_version FROM detections ORDER BY id")]
    assert versions[0] == shipped and f"+seed+{name}/" in versions[1], versions
    assert "the active lone-episode model changed" in service.log_text()
    assert service.signal(signal.SIGTERM) == 0
