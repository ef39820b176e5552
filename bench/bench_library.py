"""A big library: the daemon's start, its reconcile scan, its memory and `status`, for 50,000 files in 5,000 folders.

    python -m bench.bench_library [--files 50000] [--folders 5000] [--root cache/bench/library]

Builds (once) a library of empty `.mkv` files (the detector is a stand-in that holds every detection, as a first
scan of real episodes would keep the queue full). Then runs the real `Daemon` twice in a child process, a first
start on an empty database and a restart on the full one, and `intro-daemon status` against it; prints one table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CACHE = Path("cache/bench")


def build_library(root: Path, files: int, folders: int) -> None:
    """root/Show NNN/Season SS/Show NNN SssEee.mkv, `folders` season folders in shows of ten seasons."""
    marker = root / f".built-{files}-{folders}"
    if marker.exists():
        return
    per_folder = max(1, files // folders)
    for f in range(folders):
        show, season = divmod(f, 10)
        folder = root / f"Show {show:03d}" / f"Season {season + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for e in range(per_folder):
            (folder / f"Show {show:03d} S{season + 1:02d}E{e + 1:02d}.mkv").touch()
    marker.touch()


def _rss_mb() -> tuple[float, float]:
    """(resident now, peak) of this process in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class _Reconciles(logging.Handler):
    """The reconcile scan's own log line: when it ended and how long it says it took."""

    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()
        self.seconds = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("reconcile:"):
            match = re.search(r"\(([\d.]+) s\)$", message)
            self.seconds = float(match.group(1)) if match else float("nan")
            self.done.set()


def _episodes(database: Path) -> int:
    with sqlite3.connect(database, timeout=60) as db:
        return int(db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0])


def run_daemon(config_path: Path, database: Path, expected: int) -> dict[str, float]:
    """One start of the real daemon with a detector that holds every detection (runs in the child)."""
    from daemon.config import load_config
    from daemon.detect import LoadedDetector
    from daemon.service import Daemon

    release = threading.Event()

    def held_detection(path: Path, siblings: object = ()) -> object:
        release.wait()
        raise RuntimeError("bench: stopped")

    reconciles = _Reconciles()
    logging.getLogger("daemon.service").addHandler(reconciles)
    logging.getLogger("daemon.service").setLevel(logging.INFO)
    daemon = Daemon(load_config(config_path), LoadedDetector(held_detection, "bench-held"))  # type: ignore[arg-type]
    started = time.perf_counter()
    daemon.start()
    figures = {"start_s": time.perf_counter() - started}
    reconciles.done.wait(3600)
    figures["reconcile_s"] = reconciles.seconds
    while _episodes(database) < expected:  # new files settle, then are stored and queued one by one
        time.sleep(0.2)
    figures["all_queued_s"] = time.perf_counter() - started
    figures["rss_mb"], figures["peak_rss_mb"] = _rss_mb()
    status_started = time.perf_counter()
    status = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "status", "--config", str(config_path)], capture_output=True, text=True
    )
    figures["status_s"] = time.perf_counter() - status_started
    if status.returncode != 0:
        raise SystemExit(f"status failed: {status.stderr}")
    stop_started = time.perf_counter()
    release.set()
    daemon.stop(grace_s=5.0)
    figures["stop_s"] = time.perf_counter() - stop_started
    return figures


def child(args: argparse.Namespace) -> int:
    figures = run_daemon(Path(args.config), Path(args.database), args.files)
    print(json.dumps(figures))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--folders", type=int, default=5_000)
    parser.add_argument("--root", type=Path, default=CACHE / "library")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    started = time.perf_counter()
    build_library(args.root, args.files, args.folders)
    files = sum(1 for _ in args.root.rglob("*.mkv"))
    print(
        f"library: {files} files in {args.folders} season folders under {args.root} ({time.perf_counter() - started:.1f} s to build)"
    )
    with tempfile.TemporaryDirectory() as state:
        config = Path(state) / "config.toml"
        config.write_text(
            f'[library]\nfolders = ["{args.root.resolve()}"]\nsettle_s = 0.0\n'
            f'[state]\ndir = "{state}"\n[worker]\nnice = 0\n'
        )
        database = Path(state) / "intro-daemon.db"
        rows = {}
        for run in ("first start (empty database)", "restart (every file known)"):
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.bench_library",
                    "--child",
                    "--config",
                    str(config),
                    "--database",
                    str(database),
                    "--files",
                    str(files),
                ],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            if out.returncode != 0:
                print(out.stdout, out.stderr, file=sys.stderr)
                return 1
            rows[run] = json.loads(out.stdout.strip().splitlines()[-1])
        size_mb = database.stat().st_size / 1e6
    columns = [
        ("start_s", "start s"),
        ("reconcile_s", "reconcile s"),
        ("all_queued_s", "all queued s"),
        ("rss_mb", "RSS MB"),
        ("peak_rss_mb", "peak RSS MB"),
        ("status_s", "status s"),
        ("stop_s", "stop s"),
    ]
    print(f"{'':30}" + "".join(f"{title:>14}" for _, title in columns))
    for run, figures in rows.items():
        print(f"{run:30}" + "".join(f"{figures[key]:>14.1f}" for key, _ in columns))
    print(f"database: {size_mb:.1f} MB; inotify watches: {args.folders + args.folders // 10 + 1} (one per folder)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
