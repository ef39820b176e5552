"""`intro-daemon run` pushing 1,000 episodes to a Jellyfin that keeps going away: down (connection refused),
starting (503 with and without Retry-After), throttled by a proxy (429 with Retry-After), hanging without an
answer, dying after it applied a write. Everything arrives exactly once, no rest is longer than the cap or shorter
than a Retry-After, a SIGTERM while a request hangs stops the daemon in time, and memory and threads stay flat.

What a starting Jellyfin answers follows its source (jellyfin/jellyfin v10.11): first the setup server,
`Jellyfin.Server/ServerSetupApp/SetupServer.cs` (`RunAsync`: 503, `Retry-After` of 5 s written as "005",
text/html, on every route); then the main pipeline before `CoreStartupHasCompleted`,
`Jellyfin.Api/Middleware/ServerStartupMessageMiddleware.cs` (503, text/html "Jellyfin Server is loading. Please
try again shortly.", no Retry-After). The write route is Intro Skipper's `POST /Episode/{id}/Timestamps`
(tests/fakeservers/jellyfin.py).
"""

from __future__ import annotations

import itertools
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.config import WorkerConfig
from daemon.detect import load_detector
from db import episodes
from db.migrate import upgrade
from db.models import DetectionRecord
from db.session import make_engine, make_sessions
from tests.daemon.commands.test_run_service import Service, service  # noqa: F401 (the fixture)
from tests.fakeservers.base import Reply, Request
from tests.fakeservers.jellyfin import FakeJellyfin

pytestmark = pytest.mark.slow

EPISODES = 1000
TROUBLE_EVERY = 100  # applied writes between two troubles
KEY = "flapKey-8Hc2Tw5Qz"
BACKOFF_S, CAP_S, TIMEOUT_S = 0.5, 3.0, 1.5  # the daemon's [push] and the target's timeout, as configured
SETUP_RETRY_AFTER_S = 5.0  # SetupServer.cs: `retryAfterValue = TimeSpan.FromSeconds(5)`
THROTTLE_RETRY_AFTER_S = 2.0
LATE_S = 2.0  # the scheduler's wake-up and a database write, on a loaded machine
LOADING = "Jellyfin Server is loading. Please try again shortly."


@dataclass(frozen=True)
class Answer:
    at_s: float  # time.monotonic() when the request arrived
    generation: int  # which daemon process asked (a restart may ask at once)
    path: str
    status: int
    retry_after_s: float | None


class FlappingJellyfin(FakeJellyfin):
    def __init__(self, items: dict[str, str]) -> None:
        super().__init__(KEY, items, plugin="timestamps")
        self.trouble: str | None = None  # setup, starting, throttled, hung; "down" is the server stopped
        self.crash_next_write = False
        self.generation = 0
        self.answers: list[Answer] = []
        self.applied: Counter[str] = Counter()  # item id -> writes applied
        self.held = 0  # requests hanging now

    def _dispatch(self, request: Request) -> Reply:
        arrived, generation = time.monotonic(), self.generation
        reply = self._trouble_reply(request)
        ra = reply.headers.get("Retry-After")
        self.answers.append(Answer(arrived, generation, request.path, reply.status, float(ra) if ra else None))
        return reply

    def _trouble_reply(self, request: Request) -> Reply:
        if self.trouble == "setup":
            return Reply(503, "<html><body>Jellyfin is starting</body></html>", {"Retry-After": "005"})
        if self.trouble == "starting" and request.path.lower() != "/system/ping":
            return Reply(503, LOADING)
        if self.trouble == "throttled":
            return Reply(429, "Too Many Requests", {"Retry-After": f"{THROTTLE_RETRY_AFTER_S:g}"})
        if self.trouble == "hung":
            self.held += 1
            while self.trouble == "hung":
                time.sleep(0.01)
            self.held -= 1
            return Reply(503, LOADING)  # long after the client gave up
        reply = super()._dispatch(request)
        if request.method == "POST" and reply.status == 204:
            self.applied[request.path.split("/")[2]] += 1
            if self.crash_next_write:  # applied, but the answer never leaves
                self.crash_next_write = False
                return Reply(hang_up=True)
        return reply


@dataclass(frozen=True)
class Trouble:
    kind: str
    started_s: float
    ended_s: float


@pytest.fixture
def jellyfin() -> Iterator[FlappingJellyfin]:
    server = FlappingJellyfin({})
    yield server.start()
    server.trouble = None
    server.stop()


def prepare(daemon: Service, server: FlappingJellyfin, weights: Path | None) -> None:
    """1,000 episodes already detected (empty files: nothing to detect again), their pushes pending."""
    model_version = load_detector(WorkerConfig(weights=weights)).model_version
    engine = make_engine(f"sqlite:///{daemon.db}")
    daemon.db.parent.mkdir(parents=True, exist_ok=True)
    upgrade(engine)
    sessions = make_sessions(engine)
    with sessions.begin() as session:
        for n in range(EPISODES):
            path = daemon.season / f"Show S01E{n + 1:04d}.mkv"
            path.touch()
            stat = path.stat()
            seen = episodes.Seen(str(path), str(path.parent), stat.st_size, stat.st_mtime_ns)
            episode = episodes.note_seen(session, seen)
            assert episodes.claim(session, episode.id, "test:1", ["pending"])
            record = DetectionRecord(
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                model_version=model_version,
                start_s=10.0 + n % 7,
                end_s=70.0 + n % 7,
                confidence=0.9,
                duration_s=1500.0,
                elapsed_s=1.0,
            )
            episodes.store_detection(session, episode.id, "test:1", record, ["jf"])
            server.items[str(path)] = f"item{n:04d}"
    engine.dispose()
    with daemon.config.open("a") as f:
        f.write(f"[push]\nretry_backoff_s = {BACKOFF_S}\nretry_cap_s = {CAP_S}\n")
        f.write(f'[[targets]]\nname = "jf"\nkind = "jellyfin"\nurl = "{server.url}"\napi_key = "{KEY}"\n')
        f.write(f"timeout_s = {TIMEOUT_S}\n")


def proc_status(pid: int) -> tuple[float, int]:
    """(resident MB, threads) of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def test_a_thousand_pushes_to_a_flapping_server_arrive_exactly_once(
    service: Service,  # noqa: F811
    jellyfin: FlappingJellyfin,
    detector_weights: Path | None,
) -> None:
    prepare(service, jellyfin, detector_weights)
    service.start()
    assert service.proc is not None
    troubles: list[Trouble] = []
    kinds = itertools.cycle(["hung", "down", "setup", "starting", "throttled", "crash"])
    sigterm_s: float | None = None
    samples: dict[str, tuple[float, int]] = {}
    deadline = time.monotonic() + 600
    next_trouble = TROUBLE_EVERY
    while sum(jellyfin.applied.values()) < EPISODES:
        assert time.monotonic() < deadline, f"stuck at {sum(jellyfin.applied.values())}:\n{service.log_text()}"
        assert service.proc.poll() is None, f"the daemon exited:\n{service.log_text()}"
        applied = sum(jellyfin.applied.values())
        if applied >= 3 * TROUBLE_EVERY and "middle" not in samples:
            samples["middle"] = proc_status(service.proc.pid)
        if applied < next_trouble:
            time.sleep(0.005)
            continue
        next_trouble += TROUBLE_EVERY
        kind = next(kinds)
        started = time.monotonic()
        if kind == "down":
            jellyfin.stop()
            time.sleep(1.5)
            jellyfin.start()
        elif kind == "crash":
            jellyfin.crash_next_write = True
        else:
            jellyfin.trouble = kind
            if kind == "hung" and sigterm_s is None:
                # The first hang: SIGTERM while a request is hanging, then the daemon starts again.
                while jellyfin.held == 0:
                    time.sleep(0.005)
                began = time.monotonic()
                assert service.signal(signal.SIGTERM) == 0
                sigterm_s = time.monotonic() - began
                jellyfin.generation += 1
                jellyfin.trouble = None
                service.start()
                assert service.proc is not None
            else:
                time.sleep(3.0 if kind == "hung" else 1.0)
                jellyfin.trouble = None
        troubles.append(Trouble(kind, started, time.monotonic()))
    service.wait(
        lambda: service.rows("SELECT count(*) FROM pushes WHERE state = 'done'") == [(EPISODES,)],
        "every push recorded as done",
    )
    samples["end"] = proc_status(service.proc.pid)
    assert service.signal(signal.SIGTERM) == 0
    daemon_log = service.log_text()

    # Every episode's intro is on the server, written exactly once, though one write's answer was lost.
    assert len(jellyfin.applied) == EPISODES and set(jellyfin.applied.values()) == {1}
    for n in range(EPISODES):
        assert jellyfin.timestamps[f"item{n:04d}"]["Introduction"] == {"Start": 10.0 + n % 7, "End": 70.0 + n % 7}
    assert service.rows("SELECT count(*) FROM pushes WHERE state != 'done' OR last_error IS NOT NULL") == [(0,)]
    assert {t.kind for t in troubles} == {"hung", "down", "setup", "starting", "throttled", "crash"}
    assert sigterm_s is not None and sigterm_s < 10.0, sigterm_s

    answers = sorted(jellyfin.answers, key=lambda a: a.at_s)  # a hung one is logged when it ends
    for earlier, later in itertools.pairwise(answers):
        if earlier.generation != later.generation:
            continue
        gap_s = later.at_s - earlier.at_s
        if earlier.retry_after_s is not None:  # Retry-After honoured: not a single request before its time
            assert gap_s >= earlier.retry_after_s - 0.05, (earlier, later)
        elif earlier.status >= 500:  # no hammering: at least the first backoff between two failures
            assert gap_s >= BACKOFF_S - 0.05, (earlier, later)
    statuses = Counter(a.status for a in answers)
    assert statuses[429] >= 1 and statuses[503] >= 3, statuses
    # The rest is capped: after each trouble, the daemon is back within the cap (or the Retry-After it got).
    for trouble in troubles:
        first = next(a for a in answers if a.at_s > trouble.ended_s)
        rest_s = SETUP_RETRY_AFTER_S if trouble.kind == "setup" else CAP_S
        assert first.at_s - trouble.ended_s <= rest_s + LATE_S, (trouble, first)

    # Flat: no memory or thread piles up over 700 pushes and a dozen troubles.
    (middle_mb, middle_threads), (end_mb, end_threads) = samples["middle"], samples["end"]
    assert end_threads <= middle_threads, samples
    assert end_mb - middle_mb < 20.0, samples
    assert daemon_log.count("jf: answering again") >= len(troubles) - 2
    assert "closed the connection without answering" in daemon_log  # the lost answer, said as such
    assert not re.search(r"Traceback|ERROR", daemon_log), daemon_log[-3000:]
    print(f"\nflapping: SIGTERM during a hang took {sigterm_s:.2f} s; {len(answers)} requests; {statuses}; {samples}")
