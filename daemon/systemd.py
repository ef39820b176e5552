"""What the service needs from systemd, and nothing heavier than the standard library (imported before the rest).

Signals: the service takes SIGTERM, SIGINT and SIGHUP synchronously in its main thread (`sigwait`). That only works
if every thread of the process blocks them: a thread that does not (numpy's and scipy's OpenBLAS start theirs when
they are imported) would receive SIGHUP at its default action, which kills the process. So the mask is set before
anything is imported that could start a thread, and every thread inherits it.

Readiness: with `Type=notify`, systemd holds `systemctl reload` until the service says READY=1, so a reload right
after a start cannot arrive before the signals are blocked.
"""

from __future__ import annotations

import os
import signal
import socket

STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
SERVICE_SIGNALS = STOP_SIGNALS | {signal.SIGHUP}


def block_service_signals() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, SERVICE_SIGNALS)


def unblock_service_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SERVICE_SIGNALS)


def notify(state: str, environ: dict[str, str] | None = None) -> bool:
    """Send sd_notify `state` (e.g. "READY=1") to $NOTIFY_SOCKET; False when not run by systemd (no socket set) or
    when the socket cannot be reached (like sd_notify, a service never fails for it)."""
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True
