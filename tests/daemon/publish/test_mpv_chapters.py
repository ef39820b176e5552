"""A real player reads the chapters the Matroska publisher wrote: mpv (Debian's `mpv`, no config) over its JSON IPC.

First the chapter list as mpv sees it: our names, our times. Then playback with a chapter-skip script of ours that
matches titles as po5/chapterskip's default categories do (chapterskip_test.lua): with `skip=opening` the cold
open plays and playback jumps from the intro's start to its end; with `skip=prologue` nothing of ours is skipped.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.matroska import MatroskaOptions, MatroskaPublisher
from detector.result import Intro, Segment
from tests.clips import write_clip
from tests.daemon.publish.segments import of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("mpv") is None or shutil.which("mkvpropedit") is None,
        reason="mpv and mkvpropedit (Debian packages mpv, mkvtoolnix) are needed; scripts/test.sh installs them "
        "with apt-get when run as root",
    ),
]

DURATION_S = 24.0
INTRO = Intro(4.0, 12.0, 0.9)
SCRIPT = Path(__file__).with_name("chapterskip_test.lua")
SPEED = 4.0  # the null audio output keeps time, so playback is real time divided by this


class Mpv:
    """One `mpv --idle` process and its JSON IPC socket: commands answered by request id, events and property
    changes collected on a queue."""

    def __init__(self, socket_path: Path, *extra: str) -> None:
        command = [
            "mpv",
            "--no-config",
            "--idle=yes",
            "--vo=null",
            "--ao=null",
            "--keep-open=yes",
            "--pause",
            f"--input-ipc-server={socket_path}",
            "--msg-level=all=warn,chapterskip_test=info",
            *extra,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 15
        while not socket_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"mpv did not open its IPC socket: {self.output()}")
            time.sleep(0.05)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.connect(str(socket_path))
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._next_id = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self._socket.recv(65536)
            except OSError:  # closed by `close`
                return
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = json.loads(line)
                if "request_id" in message and "event" not in message:
                    self._replies[message["request_id"]].put(message)
                else:
                    self.events.put(message)

    def command(self, *args: Any) -> Any:
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            self._replies[request_id] = queue.Queue()
        self._socket.sendall(json.dumps({"command": list(args), "request_id": request_id}).encode() + b"\n")
        reply = self._replies[request_id].get(timeout=10)
        assert reply["error"] == "success", (args, reply)
        return reply.get("data")

    def wait_event(self, name: str, timeout_s: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(queue.Empty):
                event = self.events.get(timeout=left)
                if event.get("event") == name:
                    return event
        raise AssertionError(f"no {name} event from mpv in {timeout_s} s")

    def load(self, path: Path) -> None:
        self.command("loadfile", str(path))
        self.wait_event("file-loaded")

    def output(self) -> str:
        if self.process.poll() is None:
            return ""
        return self.process.stdout.read() if self.process.stdout else ""

    def close(self) -> str:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out or ""


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_clip(tmp_path_factory.mktemp("mpv") / "Show S01E01.mkv", DURATION_S, fps=10, size=(64, 48))
    result = MatroskaPublisher("mkv", MatroskaOptions()).push(EpisodeRef(path, DURATION_S), of(INTRO))
    assert result.action is PushAction.CREATED
    return path


@contextlib.contextmanager
def mpv(tmp_path: Path, *extra: str) -> Iterator[Mpv]:
    player = Mpv(tmp_path / "mpv.sock", *extra)
    try:
        yield player
    finally:
        player.close()


def test_mpv_reads_the_chapters_we_wrote(episode: Path, tmp_path: Path) -> None:
    with mpv(tmp_path) as player:
        player.load(episode)
        chapters = player.command("get_property", "chapter-list")
        duration = player.command("get_property", "duration")
    assert [c["title"] for c in chapters] == ["Cold Open", "Opening", "Episode"]
    assert [c["time"] for c in chapters] == pytest.approx([0.0, INTRO.start_s, INTRO.end_s], abs=0.001)
    assert duration == pytest.approx(DURATION_S, abs=0.2)


def play(episode: Path, tmp_path: Path, skip: str, until_s: float, categories: str = "") -> list[float]:
    """Plays the file with our chapter-skip script skipping `skip` (and the user's own `categories`); returns every
    time-pos mpv reported."""
    opts = f"--script-opts=chapterskip_test-skip={skip},chapterskip_test-categories={categories}"
    with mpv(tmp_path, f"--script={SCRIPT}", opts, f"--speed={SPEED}") as player:
        player.load(episode)
        player.command("observe_property", 1, "time-pos")
        player.command("set_property", "pause", False)
        positions: list[float] = []
        deadline = time.monotonic() + DURATION_S / SPEED + 20
        while not positions or positions[-1] < until_s:
            assert time.monotonic() < deadline, f"playback stalled at {positions[-1:]}"
            with contextlib.suppress(queue.Empty):
                event = player.events.get(timeout=1)
                position = event.get("data") if event.get("name") == "time-pos" else None
                if event.get("event") == "property-change" and isinstance(position, (int, float)):
                    positions.append(float(position))
    return positions


def test_skipping_openings_skips_exactly_the_intro(episode: Path, tmp_path: Path) -> None:
    positions = play(episode, tmp_path, "opening", until_s=INTRO.end_s + 2)
    cold_open = [p for p in positions if 0.5 <= p < INTRO.start_s]
    assert len(cold_open) >= 3, f"the cold open did not play: {positions}"
    # mpv may report a frame or two past the intro's start before the script's seek lands; after that, nothing
    # before the intro's end.
    after_start = [p for p in positions if p >= INTRO.start_s + 0.5]
    assert after_start and after_start[0] >= INTRO.end_s, f"the intro played: {positions}"
    assert not [p for p in positions if INTRO.start_s + 0.5 <= p < INTRO.end_s]


def test_skipping_prologues_skips_nothing_of_ours(episode: Path, tmp_path: Path) -> None:
    positions = play(episode, tmp_path, "prologue", until_s=INTRO.start_s + 2)
    assert [p for p in positions if 0.5 <= p < INTRO.start_s], f"the cold open was skipped: {positions}"
    assert [p for p in positions if INTRO.start_s + 0.5 <= p < INTRO.start_s + 2], f"the intro was skipped: {positions}"


# Every kind: recap 0-3, cold open 3-5, intro 5-10, episode 10-16, credits 16-20, preview 20-24 (to the end).
EVERY_KIND = (
    Segment("recap", 0.0, 3.0, 0.8),
    Segment("intro", 5.0, 10.0, 0.9),
    Segment("credits", 16.0, 20.0, 0.85, final=True),
    Segment("preview", 20.0, DURATION_S, 0.7),
)


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_clip(tmp_path_factory.mktemp("mpv") / "Show S01E02.mkv", DURATION_S, fps=10, size=(64, 48))
    result = MatroskaPublisher("mkv", MatroskaOptions()).push(EpisodeRef(path, DURATION_S), EVERY_KIND)
    assert result.action is PushAction.CREATED
    return path


def played(positions: list[float], start: float, end: float) -> list[float]:
    """What was played inside [start, end), half a second of slack at the start for a seek to land."""
    return [p for p in positions if start + 0.5 <= p < end]


def test_skipping_what_smartskip_skips_by_default_plays_the_story_only(every_kind: Path, tmp_path: Path) -> None:
    positions = play(every_kind, tmp_path, "opening;ending;preview", until_s=DURATION_S - 0.5)
    assert played(positions, 0.0, 3.0), f"the recap was skipped (no category takes it): {positions}"
    assert played(positions, 3.0, 5.0), f"the cold open was skipped: {positions}"
    assert not played(positions, 5.0, 10.0), f"the intro played: {positions}"
    assert played(positions, 10.0, 16.0), f"the story was skipped: {positions}"
    assert not played(positions, 16.0, DURATION_S - 0.5), f"the credits or the preview played: {positions}"


def test_a_recap_category_of_the_users_own_skips_the_recap(every_kind: Path, tmp_path: Path) -> None:
    positions = play(every_kind, tmp_path, "recap", until_s=4.0, categories="recap>^Recap")
    assert not played(positions, 0.0, 3.0), f"the recap played: {positions}"
    assert played(positions, 3.0, 5.0), f"the cold open was skipped: {positions}"
