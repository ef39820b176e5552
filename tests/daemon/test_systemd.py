"""sd_notify over a real AF_UNIX datagram socket, as systemd listens for it; the shipped unit file."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from daemon import systemd


def test_notify_sends_the_state_to_the_socket_systemd_names(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        assert systemd.notify("READY=1", {"NOTIFY_SOCKET": str(path)})
        assert listener.recv(64) == b"READY=1"


def test_notify_reaches_an_abstract_socket() -> None:
    name = f"intro-daemon-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        assert systemd.notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name})
        assert listener.recv(64) == b"STOPPING=1"


def test_notify_outside_systemd_or_to_a_gone_socket_does_nothing(tmp_path: Path) -> None:
    assert not systemd.notify("READY=1", {})
    assert not systemd.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")})


UNIT = Path(__file__).parents[2] / "systemd" / "intro-daemon.service"


def _unit_bytes(key: str) -> int:
    (value,) = [line.split("=", 1)[1] for line in UNIT.read_text().splitlines() if line.startswith(key + "=")]
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def test_the_units_memory_limits_sit_above_the_daemons_own_ceiling() -> None:
    from daemon.config import WorkerConfig

    ceiling = WorkerConfig().memory_limit_mb * 2**20
    assert ceiling < _unit_bytes("MemoryHigh") < _unit_bytes("MemoryMax")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("intro-daemon")
    unit = tmp_path / "intro-daemon.service"
    unit.write_text(UNIT.read_text().replace("/opt/intro-daemon/.venv/bin/intro-daemon", str(executable)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
