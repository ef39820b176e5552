"""`intro-daemon push`: config, database and publishers wired together, with a Kodi target (files only)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from daemon.commands import common, push
from db.migrate import upgrade
from db.session import make_engine, make_sessions
from detector.result import Intro
from tests.fakeservers.db import store_result


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="intro-daemon")
    push.register(parser.add_subparsers(dest="command", required=True), common.options(library=False))
    args = parser.parse_args(["push", *argv])
    return int(args.func(args))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder = tmp_path / "tv" / "Show"
    folder.mkdir(parents=True)
    videos = [folder / "e1.mkv", folder / "e2.mkv"]
    for video in videos:
        video.write_bytes(b"x")
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndir = "{tmp_path / "state"}"\n[[targets]]\nname = "kodi"\nkind = "kodi"\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'intro-daemon.db'}")
    upgrade(engine)
    sessions = make_sessions(engine)
    for video in videos:
        store_result(sessions, video, Intro(5.0, 35.0, 0.9), ["kodi"])
    return config, videos[0], videos[1]


def test_push_due_then_again_then_retry_failed(
    setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, e1, e2 = setup
    e2.with_suffix(".edl").write_text("FILE PROCESSING COMPLETE\n")  # someone else's EDL
    assert run("--config", str(config)) == 1
    out = capsys.readouterr().out
    assert "1 done, 0 to retry later, 1 failed" in out and "not written by intro-daemon" in out
    assert e1.with_suffix(".edl").read_text().startswith("## intro-daemon")

    assert run("--config", str(config), str(e1)) == 0
    assert "1 push(es) queued" in capsys.readouterr().out

    e2.with_suffix(".edl").unlink()
    assert run("--config", str(config), "--retry-failed") == 0
    assert "1 failed push(es) queued again" in capsys.readouterr().out
    assert e2.with_suffix(".edl").exists()


def test_unknown_target_and_bad_config_exit_2(
    setup: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _, _ = setup
    assert run("--config", str(config), "--target", "nope") == 2
    assert "--target nope: no such target (configured: kodi)" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('[[targets]]\nname = "k"\nkind = "kodi"\naction = 9\n')
    assert run("--config", str(bad)) == 2
    assert "targets.k.action" in capsys.readouterr().err


def test_undo_takes_our_markers_off_a_target_and_they_stay_off(
    setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, e1, e2 = setup
    assert run("--config", str(config)) == 0
    assert e1.with_suffix(".edl").exists() and e2.with_suffix(".edl").exists()
    assert run("--config", str(config), "--undo") == 2
    assert "push --undo needs --target NAME" in capsys.readouterr().err
    assert run("--config", str(config), "--undo", "--target", "kodi", str(e1)) == 0
    assert "undone: 1, kept: 0" in capsys.readouterr().out
    assert not e1.with_suffix(".edl").exists() and e2.with_suffix(".edl").exists()
    assert run("--config", str(config)) == 0  # nothing due: the undone marker is not written again
    assert "pushed: 0 done" in capsys.readouterr().out and not e1.with_suffix(".edl").exists()
    assert run("--config", str(config), str(e1)) == 0  # until asked for
    assert e1.with_suffix(".edl").exists()


def test_plex_database_push_then_undo_through_the_daemon_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakeservers.plex_db import FakePlexDb

    video = tmp_path / "tv" / "Show" / "e1.mkv"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"x")
    plex = FakePlexDb(tmp_path / "com.plexapp.plugins.library.db")
    item = plex.add_episode(f"/data/tv/Show/{video.name}")
    plex.add_plex_marker(item, 1_400_000, 1_450_000, text="credits")  # Plex's own: left alone throughout
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\ndir = "{tmp_path / "state"}"\n[[targets]]\nname = "plex"\nkind = "plex_db"\n'
        f'database = "{plex.path}"\n[[targets.path_maps]]\ndaemon = "{tmp_path / "tv"}"\nserver = "/data/tv"\n'
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'intro-daemon.db'}")
    upgrade(engine)
    store_result(make_sessions(engine), video, Intro(5.0, 35.0, 0.9), ["plex"])
    assert run("--config", str(config)) == 0
    seen = {(m["text"], m["time_offset"], m["end_time_offset"]) for m in plex.markers(item)}
    assert seen == {("intro", 5000, 35000), ("credits", 1_400_000, 1_450_000)}  # what a Plex client shows
    capsys.readouterr()
    assert run("--config", str(config), "--undo", "--target", "plex") == 0
    assert "undone: 1, kept: 0" in capsys.readouterr().out
    assert {(m["text"], m["time_offset"]) for m in plex.markers(item)} == {("credits", 1_400_000)}


def _one_episode(tmp_path: Path, video: Path, target_table: str, intro: Intro, *, duration_s: float) -> Path:
    """A config with one target, and a stored detection of `video` queued for it."""
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndir = "{tmp_path / "state"}"\n' + target_table)
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'intro-daemon.db'}")
    upgrade(engine)
    store_result(make_sessions(engine), video, intro, ["t"], duration_s=duration_s)
    return config


@pytest.mark.skipif(shutil.which("mkvpropedit") is None, reason="needs mkvtoolnix (mkvpropedit)")
def test_matroska_chapters_through_the_daemon_flow_are_what_a_player_reads(tmp_path: Path) -> None:
    from daemon.publish.matroska import read_chapters
    from tests.clips import write_clip

    video = write_clip(tmp_path / "e1.mkv", 20.0)
    config = _one_episode(
        tmp_path, video, '[[targets]]\nname = "t"\nkind = "matroska"\n', Intro(4.0, 12.0, 0.9), duration_s=20.0
    )
    assert run("--config", str(config)) == 0
    # What a player lists (PyAV reads them as mpv and Jellyfin do): the cold open, the opening, the episode.
    assert [(c.start_ms, c.title) for c in read_chapters(video)] == [
        (0, "Cold Open"),
        (4000, "Opening"),
        (12000, "Episode"),
    ]


def test_emby_chapter_markers_through_the_daemon_flow(tmp_path: Path) -> None:
    from tests.fakeservers.emby import FakeEmby

    video = tmp_path / "tv" / "e1.mkv"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"x")
    emby = FakeEmby("embyKey-123456", {str(video): "77"}).start()
    try:
        table = f'[[targets]]\nname = "t"\nkind = "emby"\nurl = "{emby.url}"\napi_key = "embyKey-123456"\n'
        config = _one_episode(tmp_path, video, table, Intro(5.0, 35.0, 0.9), duration_s=1500.0)
        config.chmod(0o600)
        assert run("--config", str(config)) == 0
        assert emby.intro_of("77") == (5.0, 35.0)  # IntroStart / IntroEnd markers, what Emby's Skip Intro reads
    finally:
        emby.stop()
