"""The real client: Debian's Kodi (20.1 on Debian 12) plays an episode next to the `.edl` our kodi target wrote, and
its playback position jumps over the intro.

Kodi runs headless: Xvfb for the window (Mesa's llvmpipe for OpenGL), ALSA's null device for the sound (Kodi only
skips a commercial break while an audio and a video stream are in sync, so there has to be audio), a throwaway
HOME with a userdata that turns on JSON-RPC over HTTP. Skipped when kodi or Xvfb is missing (scripts/test.sh
installs both with apt-get when run as root) or when Kodi does not come up.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.kodi import KodiOptions, KodiPublisher
from detector.result import Intro, Segment
from tests.daemon.publish.segments import of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("kodi") is None or shutil.which("Xvfb") is None,
        reason="kodi or Xvfb is not installed; scripts/test.sh installs them (apt-get install kodi xvfb) as root",
    ),
]

DURATION_S = 40.0
INTRO = Intro(6.0, 18.0, 0.9)
GOP_S = 1.0  # a keyframe every second: where a seek may land before the target
START_TIMEOUT_S = 60.0


def write_episode(path: Path, seconds: float, fps: int = 10, size: tuple[int, int] = (160, 90)) -> Path:
    """Video and stereo AAC interleaved second by second, as real files are (tests.clips.write_clip writes all the
    video first: Kodi then reads far ahead for the audio and its streams are not in sync until late)."""
    width, height, rate, chunk = size[0], size[1], 48000, 1024
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(round(fps * GOP_S))})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=rate, layout="stereo")
        for second in range(int(seconds)):
            picture = np.full((height, width, 3), (37 * second) % 256, np.uint8)
            for _ in range(fps):
                out.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
            n = np.arange(second * rate, (second + 1) * rate)
            tone = (0.2 * np.sin(2 * np.pi * (220 + 20 * second) * n / rate)).astype(np.float32)
            for start in range(0, rate, chunk):
                samples = np.repeat(tone[start : start + chunk].reshape(1, -1), 2, axis=0)
                frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = rate, second * rate + start
                out.mux(audio.encode(frame))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return path


class Kodi:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def rpc(self, method: str, params: dict[str, Any] | None = None) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.load(response)
        assert "error" not in answer, f"{method}: {answer['error']}"
        return answer["result"]

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no kodi.log)"
        useful = [line for line in text.splitlines() if "audio sync error" not in line]  # hundreds after a seek
        return "\n".join(useful[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Its whole process group (Xvfb; the kodi shell wrapper and kodi.bin): TERM, then KILL what is left after 5 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5.0)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(5.0)


def _start_xvfb(processes: list[subprocess.Popen[bytes]]) -> str:
    read_end, write_end = os.pipe()
    try:
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        processes.append(xvfb)
        os.close(write_end)
        write_end = -1
        # Xvfb writes the number, then a newline: closing our end before the newline kills it (EPIPE).
        written, deadline = b"", time.monotonic() + 10.0
        while (
            not written.endswith(b"\n") and select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))[0]
        ):
            chunk = os.read(read_end, 16)
            if not chunk:
                break
            written += chunk
        number = written.decode().strip()
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if not number.isdigit():
        pytest.skip("Xvfb did not start (no display number within 10 s)")
    return f":{number}"


@pytest.fixture
def kodi(tmp_path: Path) -> Iterator[Kodi]:
    home = tmp_path / "home"
    userdata = home / ".kodi" / "userdata"
    userdata.mkdir(parents=True)
    port = _free_port()
    # Debug log level: kodi.log then says when it skips a commercial break (shown when the test fails).
    (userdata / "advancedsettings.xml").write_text(
        "<advancedsettings version='1.0'><loglevel>1</loglevel></advancedsettings>\n"
    )
    (userdata / "guisettings.xml").write_text(
        "<settings version='2'>\n"
        "  <setting id='services.webserver'>true</setting>\n"
        f"  <setting id='services.webserverport'>{port}</setting>\n"
        "  <setting id='services.webserverauthentication'>false</setting>\n"
        "  <setting id='services.esallinterfaces'>false</setting>\n"
        "</settings>\n"
    )
    (home / ".asoundrc").write_text("pcm.!default {\n  type null\n}\n")  # ALSA's null device: no sound card needed
    processes: list[subprocess.Popen[bytes]] = []
    client = Kodi(f"http://127.0.0.1:{port}/jsonrpc", home / ".kodi" / "temp" / "kodi.log")
    try:
        display = _start_xvfb(processes)
        env = {**os.environ, "HOME": str(home), "DISPLAY": display, "KODI_AE_SINK": "ALSA"}
        with (tmp_path / "kodi.out").open("wb") as out:
            process = subprocess.Popen(
                ["kodi", "--windowing=x11"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        processes.append(process)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                client.rpc("JSONRPC.Version")
                break
            except (OSError, urllib.error.URLError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"Kodi did not start (exit code {process.poll()}):\n{client.log_tail(15)}")
                time.sleep(0.5)
        yield client
    finally:
        for started in reversed(processes):
            _stop(started)


def position_s(kodi: Kodi) -> float | None:
    players = kodi.rpc("Player.GetActivePlayers")
    if not players:
        return None
    t = kodi.rpc("Player.GetProperties", {"playerid": players[0]["playerid"], "properties": ["time"]})["time"]
    return float(t["hours"] * 3600 + t["minutes"] * 60 + t["seconds"] + t["milliseconds"] / 1000)


def test_kodi_jumps_over_the_intro_of_our_edl(kodi: Kodi, tmp_path: Path) -> None:
    video = write_episode(tmp_path / "Show S01E01.mkv", DURATION_S)
    result = KodiPublisher("kodi", KodiOptions()).push(EpisodeRef(video, DURATION_S), of(INTRO))
    assert result.action is PushAction.CREATED

    kodi.rpc("Player.Open", {"item": {"file": str(video)}})
    samples: list[tuple[float, float]] = []  # (seconds since Player.Open, playback position)
    opened = time.monotonic()
    while time.monotonic() - opened < 30.0:
        position = position_s(kodi)
        if position is not None:
            samples.append((time.monotonic() - opened, position))
            if position >= INTRO.end_s + 2.0:
                break
        time.sleep(0.25)
    context = f"positions {[(round(w, 2), round(p, 2)) for w, p in samples]}\nkodi.log:\n{kodi.log_tail()}"

    positions = [p for _, p in samples]
    before = [p for p in positions if p < INTRO.start_s]
    assert before and min(before) < 1.0 and max(before) > INTRO.start_s - 1.0, f"the start was not played\n{context}"
    steps = [b - a for a, b in itertools.pairwise(positions)]
    assert min(steps) > -0.5, f"playback went backwards\n{context}"  # a few frames of jitter as a seek lands
    # A poll may catch the position just after it entered the intro, before the seek lands; nothing deeper.
    inside = [p for p in positions if INTRO.start_s + 1.0 <= p < INTRO.end_s - GOP_S]
    assert not inside, f"the intro was played\n{context}"
    assert positions[-1] >= INTRO.end_s + 2.0, f"playback did not go on after the intro\n{context}"
    reached = next(w for w, p in samples if p >= INTRO.start_s)
    assert samples[-1][0] - reached < INTRO.end_s - INTRO.start_s, f"Kodi played through the intro\n{context}"
    log = kodi.log.read_text(errors="replace")
    skipped = log.find("Automatically skipping to end of commercial break")  # CVideoPlayer::CheckAutoSceneSkip
    assert skipped >= 0, context
    # What the viewer sees: a toast ("Commercial", the break's length), no button to press.
    assert "Window Init (DialogNotification.xml)" in log[skipped:], context


# Every kind, each a commercial break: the recap at 0 (playback starts after it), the intro, the credits, and the
# preview that starts where the credits end and runs to the end. Written as two edits, credits then preview, Kodi
# skipped the credits and played the preview: after a skip it skips nothing until its audio is in sync again. So the
# two are one edit, and playback ends where the credits start.
EVERY_KIND_S = 32.0
EVERY_KIND = (
    Segment("recap", 0.0, 6.0, 0.8),
    Segment("intro", 9.0, 15.0, 0.9),
    Segment("credits", 21.0, 27.0, 0.85, final=True),
    Segment("preview", 27.0, EVERY_KIND_S, 0.7),
)


def test_kodi_skips_every_kind_of_our_edl_and_plays_the_story(kodi: Kodi, tmp_path: Path) -> None:
    video = write_episode(tmp_path / "Show S01E02.mkv", EVERY_KIND_S)
    options = KodiOptions(credits_action=3)  # the credits skipped by themselves too (by default a scene marker)
    result = KodiPublisher("kodi", options).push(EpisodeRef(video, EVERY_KIND_S), EVERY_KIND)
    assert result.action is PushAction.CREATED

    kodi.rpc("Player.Open", {"item": {"file": str(video)}})
    samples: list[tuple[float, float]] = []
    opened, ended = time.monotonic(), None
    while time.monotonic() - opened < 40.0:
        position = position_s(kodi)
        if position is not None:
            samples.append((time.monotonic() - opened, position))
        elif samples and samples[-1][1] >= 15.0:
            ended = time.monotonic() - opened  # playback is over
            break
        time.sleep(0.25)
    context = f"positions {[(round(w, 2), round(p, 2)) for w, p in samples]}\nkodi.log:\n{kodi.log_tail()}"

    positions = [p for _, p in samples]
    assert positions and min(positions) >= 5.0, f"the recap was played\n{context}"
    assert [p for p in positions if 6.0 <= p < 9.0], f"the cold open was not played\n{context}"
    assert not [p for p in positions if 10.0 <= p < 15.0 - GOP_S], f"the intro was played\n{context}"
    assert [p for p in positions if 15.0 <= p < 21.0], f"the story was not played\n{context}"
    assert not [p for p in positions if 22.0 <= p < 27.0 - GOP_S], f"the credits were played\n{context}"
    assert not [p for p in positions if 28.0 <= p < EVERY_KIND_S - GOP_S], f"the preview was played\n{context}"
    # Played: 6-9 and 15-21, 9 s; the whole file would take 32.
    assert ended is not None and ended < 20.0, f"playback did not end after the preview\n{context}"
    log = kodi.log.read_text(errors="replace")
    assert log.count("Automatically skipping to end of commercial break") == 2, context  # the intro; credits+preview
