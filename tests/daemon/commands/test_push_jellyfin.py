"""`intro-daemon push` to a Jellyfin stand-in for each Intro Skipper build (tests/fakeservers/jellyfin.py): a stored
detection, then a new one, then one that found no intro, each pushed by the command and checked where a viewer
looks (Jellyfin's segments, or the plugin's skip button on 10.9); a server without the plugin fails the push with
what to install."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from daemon.commands import common, push
from db.migrate import upgrade
from db.session import make_engine, make_sessions
from detector.result import Intro
from tests.fakeservers.db import store_result
from tests.fakeservers.jellyfin import CHAPTERS, FakeJellyfin

KEY = "jf-push-key-123"
REMOVES = {"1.10.11-post", "etag"}


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="intro-daemon")
    push.register(parser.add_subparsers(dest="command", required=True), common.options(library=False))
    args = parser.parse_args(["push", *argv])
    return int(args.func(args))


class Setup:
    def __init__(self, tmp_path: Path, fake: FakeJellyfin, video: Path) -> None:
        self.fake = fake
        self.video = video
        self.config = tmp_path / "config.toml"
        self.config.write_text(
            f'[state]\ndir = "{tmp_path / "state"}"\n'
            f'[[targets]]\nname = "jf"\nkind = "jellyfin"\nurl = "{fake.url}"\napi_key_env = "JF_KEY"\n'
        )
        engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'intro-daemon.db'}")
        upgrade(engine)
        self.sessions: sessionmaker[Session] = make_sessions(engine)
        self.detections = 0

    def detect(self, intro: Intro | None) -> None:
        """What the worker stores after a detection of a changed file."""
        self.detections += 1
        store_result(self.sessions, self.video, intro, ["jf"], mtime_ns=self.detections)

    def push(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        code = run("--config", str(self.config))
        return code, capsys.readouterr().out


@pytest.fixture
def setup(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.setenv("JF_KEY", KEY)
    video = tmp_path / "tv" / "Show" / "S01E01.mkv"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"x")
    fake = FakeJellyfin(KEY, {str(video): "e1"}, plugin=request.param).start()
    fake.add_segment("e1", "Outro", 1300.0, 1400.0, provider=CHAPTERS)
    yield Setup(tmp_path, fake, video)
    fake.stop()


@pytest.mark.parametrize("setup", ["1.10.9", "1.10.11-post", "etag"], indirect=True)
def test_push_new_then_changed_then_no_intro(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.detect(Intro(5.0, 35.0, 0.9))
    code, out = setup.push(capsys)
    assert code == 0 and "created" in out
    assert setup.fake.intro_of("e1") == (5.0, 35.0)

    setup.detect(Intro(6.5, 36.5, 0.9))
    code, out = setup.push(capsys)
    assert code == 0 and "replaced" in out
    assert setup.fake.intro_of("e1") == (6.5, 36.5)

    setup.detect(None)
    code, out = setup.push(capsys)
    assert code == 0
    if setup.fake.build_name in REMOVES:
        assert "removed" in out
        assert setup.fake.intro_of("e1") is None
    else:
        assert "skipped" in out
        assert setup.fake.intro_of("e1") == (6.5, 36.5)
    if setup.fake.build.core_segments:  # the chapters' Outro is still offered
        assert ("Outro", 1300.0, 1400.0) in setup.fake.viewer_segments("e1")


@pytest.mark.parametrize("setup", ["1.10.10"], indirect=True)
def test_push_to_intro_skipper_1_10_10(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.detect(Intro(5.0, 35.0, 0.9))
    code, out = setup.push(capsys)
    assert code == 0 and "created" in out
    # The viewer gets our intro, and loses the chapters' Outro: the plugin clears every provider's segments of
    # the item when it applies its own (README).
    assert setup.fake.viewer_segments("e1") == [("Intro", 5.0, 35.0)]
    setup.detect(None)
    code, out = setup.push(capsys)
    assert code == 0 and "skipped" in out
    assert setup.fake.intro_of("e1") == (5.0, 35.0)


@pytest.mark.parametrize("setup", ["none"], indirect=True)
def test_push_without_the_plugin_fails_with_what_to_install(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.detect(Intro(5.0, 35.0, 0.9))
    code, out = setup.push(capsys)
    assert code == 1
    assert "0 done, 0 to retry later, 1 failed" in out
    assert "install Intro Skipper 1.10.11.x (built for Jellyfin 10.11.11)" in out
    assert "https://manifest.intro-skipper.org/manifest.json" in out
    assert setup.fake.viewer_segments("e1") == [("Outro", 1300.0, 1400.0)]
