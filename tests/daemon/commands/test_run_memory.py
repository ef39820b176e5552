"""`intro-daemon run` with a memory ceiling (worker.memory_limit_mb) that one file of the library would go over:
that episode ends failed with the ceiling named, once, and the others are detected as before."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest

from detector.memory import need_mb
from tests.clips import write_clip
from tests.daemon.commands.test_run_service import Service, drop_in, service  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow


def resident_mb(pid: int) -> float:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024


def detecting_mb(daemon_pid: int) -> float:
    """What the process that detects holds: the detection process (worker.detection_process, a child of the
    daemon, where the ceiling is checked) or, without one, the daemon itself."""
    children = [
        int(pid)
        for task in Path(f"/proc/{daemon_pid}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    return max(resident_mb(pid) for pid in [daemon_pid, *children])


def test_a_file_over_the_memory_ceiling_fails_once_with_the_ceiling_named(
    service: Service,  # noqa: F811
    season_media: list[Path],
    tmp_path: Path,
) -> None:
    # How much the detecting process holds with its models loaded and one episode detected: the ceiling is set above that
    # by what an episode like the others needs, and below what a 4K picture would need (decoder frames).
    service.start()
    drop_in(season_media[0], service.season / "S01E01.mkv")
    service.wait(lambda: service.states().get("S01E01.mkv") == "done", "the first episode")
    assert service.proc is not None
    loaded_mb = detecting_mb(service.proc.pid)
    assert service.signal(signal.SIGTERM) == 0
    small, big = need_mb(60, 640, 360), need_mb(20, 3840, 2160)
    assert big - small > 200
    ceiling_mb = round(loaded_mb + (small + big) / 2)
    with service.config.open("a") as f:
        f.write(f"memory_limit_mb = {ceiling_mb}\n")  # the config's last table is [worker]

    service.start()
    uhd = write_clip(tmp_path / "uhd.mkv", 20, fps=1, size=(3840, 2160), sample_rate=8000)
    shutil.move(uhd, service.season / "S01E02 2160p.mkv")
    drop_in(season_media[1], service.season / "S01E03.mkv")
    service.wait(
        lambda: service.states().get("S01E02 2160p.mkv") == "failed" and service.states().get("S01E03.mkv") == "done",
        "the 4K episode to fail and the next one to be done",
    )
    time.sleep(3.0)  # long enough for a retry loop to show
    ((state, attempts, error),) = service.rows(
        "SELECT state, attempts, last_error FROM episodes WHERE path LIKE '%2160p.mkv'"
    )
    assert (state, attempts) == ("failed", 1)
    assert f"over the memory ceiling of {ceiling_mb} MB (worker.memory_limit_mb)" in error
    assert "3840x2160" in error
    assert service.proc is not None and service.proc.poll() is None  # still running
    log = service.log_text()
    assert log.count("S01E02 2160p.mkv: failed") == 1, log
    assert service.signal(signal.SIGTERM) == 0
