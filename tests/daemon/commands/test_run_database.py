"""`intro-daemon run` as a real subprocess while its SQLite database is locked by another process for a minute,
on a small disk that fills up, deleted, and overwritten: it waits, or stops saying what to do, and no detection
is lost."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.daemon.commands.test_run_service import Service, drop_in, service  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow

LOCK_S = 60.0  # longer than the daemon's busy timeout (30 s), as a backup tool or a long rescan can be


def all_done(svc: Service, count: int) -> bool:
    states = svc.states()
    return len(states) == count and set(states.values()) == {"done"}


def detections_per_episode(svc: Service) -> list[int]:
    return [n for (n,) in svc.rows("SELECT COUNT(*) FROM detections GROUP BY episode_id")]


def status(svc: Service) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "daemon.cli", "status", "--config", str(svc.config)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_a_write_lock_held_for_a_minute_delays_the_daemon_and_loses_nothing(
    service: Service,  # noqa: F811
    season_media: list[Path],
) -> None:
    service.start()
    drop_in(season_media[0], service.season / "S01E01.mkv")
    service.wait(lambda: "S01E01.mkv" in service.states(), "the first episode to be noticed")
    script = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, str(service.db), str(LOCK_S)], stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
    locked_at = time.monotonic()
    drop_in(season_media[1], service.season / "S01E02.mkv")  # noticed, settled and queued while locked
    service.wait(lambda: "is locked by another process" in service.log_text(), "the daemon to notice", LOCK_S)
    during = status(service)  # a reader is not held up by the writer's lock (WAL)
    assert during.returncode == 0, during.stderr
    assert time.monotonic() - locked_at < LOCK_S and holder.poll() is None  # all of this while it was locked
    assert holder.wait(LOCK_S + 30) == 0

    service.wait(lambda: all_done(service, 2), "both episodes, once the lock is gone")
    assert detections_per_episode(service) == [1, 1]  # the one finished during the lock was stored, once
    assert service.rows("SELECT COUNT(*) FROM episodes WHERE claimed_by IS NOT NULL") == [(0,)]
    log = service.log_text()
    assert log.count("is locked by another process") == 1 and "usable again" in log
    assert "Traceback" not in log
    assert service.signal(signal.SIGTERM) == 0


def small_disk(mount_point: Path, size: str) -> list[str]:
    """A prefix that runs a command with a tmpfs of `size` mounted at `mount_point`, in a user and mount namespace
    of its own: a small disk of its own, without root."""
    script = f'mount -t tmpfs -o size={size} tmpfs "$0" && exec "$@"'
    prefix = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(mount_point)]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace with a tmpfs of its own here: {probe.stderr.decode().strip()}")
    return prefix


def rows_inside(pid: int, db: Path, sql: str) -> list[list[object]]:
    """Query `db` as process `pid` sees it. Not through /proc/PID/root: SQLite resolves that link to our own "/"."""
    script = (
        "import json, sqlite3, sys; print(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))"
    )
    argv = ["nsenter", "-t", str(pid), "-U", "-m", "--preserve-credentials", sys.executable, "-c", script, str(db), sql]
    return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)  # type: ignore[no-any-return]


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


def test_a_full_disk_delays_the_daemon_and_loses_nothing(
    service: Service,  # noqa: F811
    season_media: list[Path],
) -> None:
    state = service.db.parent
    state.mkdir()
    service.start(small_disk(state, "4m"))
    assert service.proc is not None
    inside = Path(f"/proc/{service.proc.pid}/root") / state.relative_to("/")  # plain file access sees the tmpfs
    filler = fill(inside)
    drop_in(season_media[0], service.season / "S01E01.mkv")
    drop_in(season_media[1], service.season / "S01E02.mkv")
    service.wait(lambda: "is full; free some space" in service.log_text(), "the daemon to notice")
    time.sleep(3.0)  # a few tries, all failing
    assert service.proc.poll() is None
    filler.unlink()

    service.wait(lambda: service.log_text().count(": done, ") == 2, "both episodes, once there is room")
    states = rows_inside(service.proc.pid, service.db, "SELECT state, COUNT(*) FROM episodes GROUP BY state")
    assert states == [["done", 2]]
    per_episode = rows_inside(service.proc.pid, service.db, "SELECT COUNT(*) FROM detections GROUP BY episode_id")
    assert per_episode == [[1], [1]]
    log = service.log_text()
    assert log.count("is full; free some space") == 1 and "usable again" in log
    assert "Traceback" not in log
    assert service.signal(signal.SIGTERM) == 0


def test_a_deleted_database_stops_the_daemon_and_the_next_start_detects_again(
    service: Service,  # noqa: F811
    season_media: list[Path],
) -> None:
    service.start()
    drop_in(season_media[0], service.season / "S01E01.mkv")
    service.wait(lambda: all_done(service, 1), "the first episode")
    service.db.unlink()  # `rm intro-daemon.db` while it runs
    drop_in(season_media[1], service.season / "S01E02.mkv")
    assert service.proc is not None
    assert service.proc.wait(60) == 1  # a failure: systemd's Restart=on-failure starts it again
    service.proc = None
    assert "was deleted or replaced while the daemon ran; it stops. Start it again" in service.log_text()

    service.start()
    service.wait(lambda: all_done(service, 2), "both episodes in a new database")
    assert detections_per_episode(service) == [1, 1]
    assert "Traceback" not in service.log_text()
    assert service.signal(signal.SIGTERM) == 0


def test_a_damaged_database_stops_the_daemon_and_says_what_to_do(
    service: Service,  # noqa: F811
    season_media: list[Path],
) -> None:
    service.start()
    drop_in(season_media[0], service.season / "S01E01.mkv")
    service.wait(lambda: all_done(service, 1), "the first episode")
    # Every page written back to the file first: a page whose newer copy is still in the WAL is not damaged by
    # overwriting its old one (SQLite reads the WAL's, and the checkpoint writes it over the damage).
    checkpoint = (
        "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone())"
    )
    done = subprocess.run(
        [sys.executable, "-c", checkpoint, str(service.db)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "(0, 0, 0)", done  # not busy, and nothing left in the WAL
    with service.db.open("r+b") as fh:  # the same file, its first page overwritten
        fh.write(os.urandom(4096))
    drop_in(season_media[1], service.season / "S01E02.mkv")
    assert service.proc is not None
    assert service.proc.wait(60) == 1
    service.proc = None
    what_to_do = "Restore it from a backup, or move it away (every episode is then detected anew), and start again"
    assert what_to_do in service.log_text()

    again = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "run", "--config", str(service.config)], capture_output=True, text=True
    )
    assert again.returncode == 2 and what_to_do in again.stderr and "Traceback" not in again.stderr

    kept = service.db.parent.with_name("damaged")
    kept.mkdir()
    for name in os.listdir(service.db.parent):
        os.replace(service.db.parent / name, kept / name)
    service.start()
    service.wait(lambda: all_done(service, 2), "both episodes in a new database")
    assert service.signal(signal.SIGTERM) == 0
