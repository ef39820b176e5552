"""sd_notify over a real AF_UNIX datagram socket, as systemd listens for it."""

import os
import socket
from pathlib import Path

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
