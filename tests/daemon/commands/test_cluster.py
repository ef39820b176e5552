"""Detections on a real Dask cluster on 127.0.0.1: `dask scheduler` and two `dask worker` processes (no nanny, so a
SIGKILL is a dead worker), the library seen by the workers under another path. `rescan` through them gives what a
local rescan gives; a worker killed during a detection costs nothing; the scheduler going away leaves the daemon
running, saying so, with the episode given back."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.daemon.commands.test_run_service import Service, drop_in, intro_daemon, service  # noqa: F401

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[3]
TIMEOUT_S = 120.0
NAMESPACE = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]


def _namespaces_work() -> bool:
    probe = subprocess.run([*NAMESPACE, "true"], capture_output=True, check=False)
    return probe.returncode == 0


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """`view`: where the workers see `library` (bind-mounted there in their own mount namespace, the library's own
    path hidden under an empty tmpfs): a worker that were sent an unmapped path would find nothing."""

    def __init__(self, folder: Path, library: Path, view: Path) -> None:
        self.folder = folder
        self.library, self.view = library, view
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self._dask = str(Path(sys.executable).with_name("dask"))

    def start(self, workers: tuple[str, ...] = ("w1", "w2")) -> None:
        port = self.address.rsplit(":", 1)[1]
        scheduler = [self._dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]
        self.scheduler = self._spawn("scheduler", scheduler)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for name in workers:
            worker = [self._dask, "worker", self.address, "--name", name, "--nthreads", "1", "--no-nanny"]
            worker += ["--preload", "daemon.cluster.remote", "--no-dashboard"]
            hide = f"mount --bind '{self.library}' '{self.view}' && mount -t tmpfs none '{self.library}'"
            command = [*NAMESPACE, "sh", "-c", f"{hide} && exec {' '.join(worker)}"]
            self.workers[name] = self._spawn(name, command, env)
        _wait(lambda: len(self.info()) == len(workers), "the workers to register")

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        return subprocess.Popen(command, stdout=log, stderr=log, env=env, cwd=REPO)

    def client(self) -> object:
        from distributed import Client

        return Client(self.address, timeout=5, set_as_default=False)

    def info(self) -> dict[str, dict[str, object]]:
        try:
            with self.client() as client:  # type: ignore[attr-defined]
                return dict(client.scheduler_info()["workers"])
        except OSError:
            return {}

    def busy_worker(self) -> str | None:
        """The name of a worker running a task now."""
        with self.client() as client:  # type: ignore[attr-defined]
            names = {address: w["name"] for address, w in client.scheduler_info()["workers"].items()}
            for address, keys in client.processing().items():
                if keys:
                    return str(names[address])
        return None

    def stop(self) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if shutil.which("unshare") is None or not _namespaces_work():
        pytest.skip("needs user and mount namespaces (unshare) to give the workers their own view of the files")
    library, view = tmp_path / "cluster-lib", tmp_path / "workers-see"
    library.mkdir()
    view.mkdir()
    c = Cluster(tmp_path, library, view)
    yield c
    c.stop()


def rescan(config: Path, *options: str) -> str:
    done = subprocess.run(
        [*intro_daemon(), "rescan", "--config", str(config), *options], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def results(db: Path) -> dict[str, tuple[float | None, float | None, float | None, str, int]]:
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT e.path, d.start_s, d.end_s, d.confidence, d.computed_by, "
            "(SELECT count(*) FROM detections x WHERE x.episode_id = e.id) "
            "FROM episodes e JOIN detections d ON d.episode_id = e.id WHERE e.state = 'done'"
        ).fetchall()
    return {Path(p).name: (s, e, conf, by, n) for p, s, e, conf, by, n in rows}


def test_a_season_detected_on_two_workers_a_killed_worker_and_a_scheduler_gone(
    tmp_path: Path,
    cluster: Cluster,
    service: Service,  # noqa: F811
    season_media: list[Path],
) -> None:
    lib, view = cluster.library, cluster.view
    season = lib / "Show" / "Season 1"
    season.mkdir(parents=True)
    for src in season_media:
        shutil.copy(src, season / src.name)
    cluster.start()

    def config(name: str, cluster_table: str) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'[library]\nfolders = ["{lib}"]\n[state]\ndir = "{tmp_path / name}"\n[worker]\ntorch_threads = 1\n'
            + cluster_table
        )
        return path

    on_cluster = (
        f'[cluster]\naddress = "{cluster.address}"\nconnect_timeout_s = 3\n'
        f'[[cluster.path_maps]]\ndaemon = "{lib}"\nworker = "{view}"\n'
    )
    local, remote = config("local", ""), config("remote", on_cluster)
    rescan(local)
    rescan(remote)
    here, there = results(tmp_path / "local" / "intro-daemon.db"), results(tmp_path / "remote" / "intro-daemon.db")
    assert len(here) == len(there) == 3
    for name, (start, end, confidence, by, n) in there.items():
        assert (start, end, confidence) == here[name][:3], name  # the same result as on this machine
        assert by in ("w1", "w2") and here[name][3] == "" and n == 1
    status = subprocess.run(
        [*intro_daemon(), "status", "--config", str(remote)], capture_output=True, text=True, check=True
    ).stdout
    assert f"cluster    {cluster.address}: 2 worker(s) (w1, w2), 0 detection(s) running" in status, status
    done_by = {by: sum(1 for row in there.values() if row[3] == by) for by in ("w1", "w2")}
    assert "detections done by: " + ", ".join(f"{by} {n}" for by, n in done_by.items() if n) in status, status

    # A worker killed with SIGKILL while it detects: Dask runs the task again on the other; each episode once.
    killed: list[str] = []

    def kill_the_busy_one() -> bool:
        name = cluster.busy_worker()
        if name is not None:
            cluster.workers[name].send_signal(signal.SIGKILL)
            killed.append(name)
        return bool(killed)

    proc = subprocess.Popen(
        [*intro_daemon(), "rescan", "--force", "--config", str(remote)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait(kill_the_busy_one, "a worker busy with a detection", timeout_s=60)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    assert "rescan: 3 episodes" in output and "3 done" in output, output
    after = results(tmp_path / "remote" / "intro-daemon.db")
    survivor = ({"w1", "w2"} - set(killed)).pop()
    assert {name: row[:3] for name, row in after.items()} == {name: row[:3] for name, row in here.items()}
    assert all(row[4] == 1 for row in after.values())
    assert survivor in {row[3] for row in after.values()}

    # The scheduler goes away under the running daemon (connected, one worker left): it says so, gives the new
    # episode back and keeps running.
    service.config.write_text(
        f'[library]\nfolders = ["{lib}"]\nsettle_s = 1.0\n[state]\ndir = "{service.db.parent}"\n'
        "[worker]\ntorch_threads = 1\n" + on_cluster
    )
    service.start()
    episodes = {src.name for src in season_media}

    def all_done() -> bool:
        with sqlite3.connect(service.db) as c:
            states = dict(c.execute("SELECT path, state FROM episodes").fetchall())
        return {Path(p).name for p, state in states.items() if state == "done"} == episodes

    service.wait(all_done, "the daemon's first scan, through the cluster")
    assert cluster.scheduler is not None
    cluster.scheduler.kill()
    cluster.scheduler.wait()
    drop_in(season_media[0], season / "S01E04.mkv")
    service.wait(lambda: "S01E04.mkv: given back" in service.log_text(), "the new episode to be given back")
    log = service.log_text()
    assert "cluster: " in log and "episodes wait 60 s" in log, log
    assert "Traceback" not in log, log  # said once, in one line, not in Dask's reconnection tracebacks
    with sqlite3.connect(service.db) as c:
        assert c.execute("SELECT state, attempts FROM episodes WHERE path LIKE '%S01E04.mkv'").fetchall() == [
            ("pending", 0)
        ]
    assert service.proc is not None and service.proc.poll() is None
    status = subprocess.run(
        [*intro_daemon(), "status", "--config", str(service.config)], capture_output=True, text=True, check=True
    ).stdout
    assert f"cluster    {cluster.address}: not answering" in status, status
    assert service.signal(signal.SIGTERM) == 0
