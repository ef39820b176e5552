"""Claims' owners: "host:pid", and telling a claim whose process is certainly gone."""

import os
import socket
import subprocess
import sys

from daemon.claims import is_dead, owner_id


def test_the_owner_is_this_host_and_process() -> None:
    assert owner_id() == f"{socket.gethostname()}:{os.getpid()}"
    assert not is_dead(owner_id())


def test_a_finished_process_on_this_host_is_dead() -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert is_dead(f"{socket.gethostname()}:{int(child.stdout)}")


def test_claims_it_cannot_judge_are_left_alone() -> None:
    assert not is_dead("another-host.example:1")  # a shared database: another machine's process
    assert not is_dead(f"{socket.gethostname()}:not-a-pid")
    assert not is_dead("no colon at all")
