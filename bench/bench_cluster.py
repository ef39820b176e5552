"""Throughput of `intro-daemon rescan` here and through a Dask cluster of 1 and 2 workers on this machine.

    python -m bench.bench_cluster [--episodes 6]

Builds (once, into cache/bench/cluster/) a procedural season, then rescans it three times on fresh databases:
in this process, through `dask scheduler` + 1 `dask worker`, and + 2 workers (all on 127.0.0.1, started and
registered before the clock starts). On one small machine the cluster columns show the overhead of going through
Dask (serialising fingerprints, a round trip per episode, the workers sharing the cores), not a speed-up; the
point of a cluster is workers on other machines.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path("cache/bench/cluster")
REPO = Path(__file__).resolve().parents[1]


def ensure_season(episodes: int) -> Path:
    folder = CACHE / f"season-{episodes}"
    if not (folder / "truth.json").exists():
        from corpus.procedural import make_season

        make_season(folder, episodes=episodes, seed=5)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask() -> str:
    return str(Path(sys.executable).with_name("dask"))


def _registered(address: str) -> int:
    from distributed import Client

    try:
        with Client(address, timeout=2, set_as_default=False) as client:
            return len(client.scheduler_info()["workers"])
    except OSError:
        return 0


def rescan(season: Path, state: Path, cluster: str | None) -> float:
    """Seconds for one rescan of the season on a fresh database."""
    config = state / "config.toml"
    state.mkdir(parents=True)
    text = f'[library]\nfolders = ["{season.resolve()}"]\n[state]\ndir = "{state}"\n'
    if cluster:
        text += f'[cluster]\naddress = "{cluster}"\nin_flight = 2\n'
    config.write_text(text)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "daemon.cli", "rescan", "--config", str(config)], check=True, capture_output=True
    )
    return time.monotonic() - started


def with_cluster(season: Path, state: Path, workers: int, logs: Path) -> float:
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = []
    with (logs / f"cluster-{workers}.log").open("ab") as log:
        procs.append(
            subprocess.Popen(
                [_dask(), "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], stdout=log, stderr=log
            )
        )
        for n in range(workers):
            command = [_dask(), "worker", address, "--name", f"w{n + 1}", "--nthreads", "1", "--no-nanny"]
            command += ["--no-dashboard", "--preload", "daemon.cluster.remote"]
            procs.append(subprocess.Popen(command, stdout=log, stderr=log, env=env, cwd=REPO))
        try:
            deadline = time.monotonic() + 120
            while _registered(address) < workers:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the workers did not register; see {log.name}")
                time.sleep(0.5)
            return rescan(season, state, address)
        finally:
            for proc in reversed(procs):
                proc.kill()
                proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=6)
    args = parser.parse_args()
    season = ensure_season(args.episodes)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs = [
            ("here (no cluster)", rescan(season, work / "local", None)),
            ("cluster, 1 worker", with_cluster(season, work / "one", 1, work)),
            ("cluster, 2 workers", with_cluster(season, work / "two", 2, work)),
        ]
    print(f"rescan of {args.episodes} episodes ({season}), {os.cpu_count()} cores")
    print(f"{'':20} {'seconds':>8} {'episodes/min':>13}")
    for name, seconds in runs:
        print(f"{name:20} {seconds:8.1f} {args.episodes * 60 / seconds:13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
