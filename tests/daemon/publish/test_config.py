"""Target options: validated per kind through daemon.config's loader, errors naming `targets.<name>.<key>`."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from daemon.config import ConfigError, TargetConfig, load_config
from daemon.pathmap import PathMap
from daemon.publish.config import build_publishers, parse_options, parse_target
from daemon.publish.credentials import Secret
from daemon.publish.emby import EmbyPublisher
from daemon.publish.jellyfin import JellyfinOptions, JellyfinPublisher
from daemon.publish.kodi import KodiOptions, KodiPublisher
from daemon.publish.matroska import MatroskaPublisher
from daemon.publish.plex import PlexOptions, PlexPublisher

ENV = {"JF_KEY": "from-env-123"}

FULL = """
[[path_maps]]
daemon = "/mnt"
server = "/srv"

[[targets]]
name = "jf"
kind = "jellyfin"
url = "http://127.0.0.1:8096"
api_key_env = "JF_KEY"
timeout_s = 5
[[targets.path_maps]]
daemon = "/mnt/tv"
server = "/data/tv"

[[targets]]
name = "emby"
kind = "emby"
url = "https://emby.lan:8920"
api_key = "inline-key"
ca_file = "ca.pem"

[[targets]]
name = "plex"
kind = "plex"
url = "http://plex:32400"
token = "plex-token"
marker_type = 5

[[targets]]
name = "kodi"
kind = "kodi"
action = 2

[[targets]]
name = "mkv"
kind = "matroska"
refresh_jellyfin = "jf"
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def target(kind: str, **options: object) -> TargetConfig:
    return TargetConfig(name="t", kind=kind, options=options)


def test_a_full_config_builds_one_publisher_per_target(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), env=ENV, parse_target=lambda t, c: parse_target(t, c, environ=ENV))
    publishers = build_publishers(config, environ=ENV)
    assert [type(p) for p in publishers] == [
        JellyfinPublisher,
        EmbyPublisher,
        PlexPublisher,
        KodiPublisher,
        MatroskaPublisher,
    ]
    jf = publishers[0]
    assert isinstance(jf, JellyfinPublisher)
    assert jf.api.options.server.secret == Secret("from-env-123")
    assert jf.api.options.server.timeout_s == 5.0
    # The target's own map first, then the global one.
    assert jf.api.options.server.path_map.to_server("/mnt/tv/a.mkv") == "/data/tv/a.mkv"
    assert jf.api.options.server.path_map.to_server("/mnt/films/b.mkv") == "/srv/films/b.mkv"
    emby = publishers[1]
    assert isinstance(emby, EmbyPublisher)
    assert emby.options.server.verify_tls == str(tmp_path / "ca.pem")  # relative to the config file
    plex = publishers[2]
    assert isinstance(plex, PlexPublisher) and plex.options.marker_type == 5
    assert isinstance(publishers[3], KodiPublisher) and publishers[3].options == KodiOptions(action=2)


def test_secrets_never_show_in_reprs() -> None:
    options = parse_options(target("plex", url="http://p:32400", token="tok-abc"), environ={})
    assert isinstance(options, PlexOptions)
    assert "tok-abc" not in repr(options) and "tok-abc" not in str(options.server.secret)
    assert options.server.secret.reveal() == "tok-abc"


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("jellyfin", {"url": "http://j", "api_key": "k", "colour": "red"}, r"targets\.t\.colour: unknown key"),
        ("jellyfin", {"api_key": "k"}, r"targets\.t\.url: required"),
        ("jellyfin", {"url": "ftp://j", "api_key": "k"}, r"targets\.t\.url: must be http"),
        ("jellyfin", {"url": "http://u:pw@j/x", "api_key": "k"}, r"without a user or password, got 'http://j/x'"),
        ("jellyfin", {"url": "http://j"}, r"targets\.t\.api_key: give exactly one of .*got none"),
        ("emby", {"url": "http://e", "api_key": "k", "api_key_env": "E"}, r"got api_key, api_key_env"),
        ("jellyfin", {"url": "http://j", "api_key_env": "NOPE"}, r"targets\.t\.api_key_env: .*NOPE is not set"),
        ("jellyfin", {"url": "http://j", "api_key": "k", "timeout_s": 0}, r"targets\.t\.timeout_s: must be a number"),
        ("plex", {"url": "http://p", "api_key": "k"}, r"targets\.t\.token: give exactly one"),
        ("kodi", {"action": 7}, r"targets\.t\.action: must be an integer from 0 to 3, got 7"),
        ("matroska", {"overwrite_chapters": "yes"}, r"targets\.t\.overwrite_chapters: must be true or false"),
        ("sonarr", {}, r"targets\.t\.kind: must be one of jellyfin, emby, plex, plex_db, kodi, matroska"),
        (
            "kodi",
            {"kinds": ["intro", "outro"]},
            r"targets\.t\.kinds: 'outro' is no segment kind; the kinds are recap, ",
        ),
        ("kodi", {"kinds": []}, r"targets\.t\.kinds: give at least one of recap, intro, credits, preview"),
        ("kodi", {"kinds": "intro"}, r"targets\.t\.kinds: must be an array of non-empty strings, got 'intro'"),
        (
            "emby",
            {"url": "http://e", "api_key": "k", "kinds": ["recap", "intro", "preview"]},
            r"targets\.t\.kinds: emby targets cannot represent recap or preview \(Emby's chapter markers are "
            r"IntroStart, IntroEnd and CreditsStart: none for a recap or a preview\); they can take intro, credits$",
        ),
        (
            "plex_db",
            {"database": "/x.db", "kinds": ["preview"]},
            r"targets\.t\.kinds: plex_db targets cannot represent preview \(Plex's markers are intro, credits and "
            r"commercial: .*\); they can take intro, credits$",
        ),
        ("plex", {"url": "http://p", "token": "t", "kinds": ["credits"]}, r"plex targets cannot represent credits "),
    ],
)
def test_bad_options_name_the_key(kind: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_options(target(kind, **options), environ={})


@pytest.mark.parametrize(
    "options",
    [
        {"api_key": "k3y-with\nline-break"},
        {"api_key": 123456789},  # a key of digits, written without quotes
        {"api_key_env": "KEY"},
        {"api_key_credential": "jellyfin"},
    ],
)
def test_a_key_that_cannot_be_sent_is_refused_without_showing_it(tmp_path: Path, options: dict[str, object]) -> None:
    bad = "k3y-with\nline-break"
    (tmp_path / "jellyfin").write_text(bad + "\n")
    env = {"KEY": bad, "CREDENTIALS_DIRECTORY": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"targets\.t\.api_key") as raised:
        parse_options(target("jellyfin", url="http://j", **options), environ=env)
    assert "k3y" not in str(raised.value) and "line-break" not in str(raised.value) and "123" not in str(raised.value)


def test_a_key_s_surrounding_whitespace_is_dropped_whichever_way_it_is_given() -> None:
    options = parse_options(target("jellyfin", url="http://j", api_key=" k3y \n"), environ={})
    assert isinstance(options, JellyfinOptions) and options.server.secret == Secret("k3y")


def test_a_systemd_credential(tmp_path: Path) -> None:
    (tmp_path / "jellyfin").write_text("cred-key\n")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    options = parse_options(target("jellyfin", url="http://j", api_key_credential="jellyfin"), environ=env)
    assert isinstance(options, JellyfinOptions) and options.server.secret == Secret("cred-key")
    with pytest.raises(ConfigError, match="LoadCredential=other"):
        parse_options(target("jellyfin", url="http://j", api_key_credential="other"), environ=env)


def test_the_load_config_hook_fails_fast(tmp_path: Path) -> None:
    bad = '[[targets]]\nname = "k"\nkind = "kodi"\naction = "three"\n'
    with pytest.raises(ConfigError, match=r"targets\.k\.action"):
        load_config(write(tmp_path, bad), parse_target=parse_target)


def test_a_world_readable_file_with_keys_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    text = '[[targets]]\nname = "e"\nkind = "emby"\nurl = "http://e"\napi_key = "inline-secret"\n'
    build_publishers(load_config(write(tmp_path, text, 0o600)), environ={})
    assert caplog.text == ""
    build_publishers(load_config(write(tmp_path, text, 0o644)), environ={})
    assert "readable by every user" in caplog.text and "chmod o-r" in caplog.text
    assert "inline-secret" not in caplog.text


def test_refresh_jellyfin_must_name_a_jellyfin_target(tmp_path: Path) -> None:
    text = '[[targets]]\nname = "mkv"\nkind = "matroska"\nrefresh_jellyfin = "kodi"\n'
    text += '[[targets]]\nname = "kodi"\nkind = "kodi"\n'
    with pytest.raises(ConfigError, match=r"targets\.mkv\.refresh_jellyfin: must name a jellyfin target \(none\)"):
        build_publishers(load_config(write(tmp_path, text)), environ={})


def test_a_refresh_only_jellyfin_target_does_not_push(tmp_path: Path) -> None:
    text = (
        '[[targets]]\nname = "jf"\nkind = "jellyfin"\nurl = "http://j"\napi_key = "k"\nwrite_segments = false\n'
        '[[targets]]\nname = "mkv"\nkind = "matroska"\nrefresh_jellyfin = "jf"\n'
    )
    publishers = build_publishers(load_config(write(tmp_path, text)), environ={})
    assert [p.name for p in publishers] == ["mkv"]


@pytest.mark.parametrize(
    ("daemon", "server", "path", "expected"),
    [
        ("/mnt/tv", "/data/tv", "/mnt/tv/S/e.mkv", "/data/tv/S/e.mkv"),
        ("/mnt/tv", "/data/tv/", "/mnt/tv/S/e.mkv", "/data/tv/S/e.mkv"),
        ("/mnt/tv", "D:\\TV", "/mnt/tv/S/e.mkv", "D:\\TV\\S\\e.mkv"),
        ("/mnt/tv", "\\\\nas\\tv", "/mnt/tv/e.mkv", "\\\\nas\\tv\\e.mkv"),
        ("/mnt/tv", "/", "/mnt/tv/e.mkv", "/e.mkv"),
        ("/mnt/tv", "/data/tv", "/mnt/tvshows/e.mkv", "/mnt/tvshows/e.mkv"),  # per component, not per character
    ],
)
def test_path_maps(daemon: str, server: str, path: str, expected: str) -> None:
    assert PathMap.from_pairs([(daemon, server)]).to_server(path) == expected


@pytest.mark.parametrize(
    ("kind", "options", "kinds"),
    [
        ("jellyfin", {"url": "http://j", "api_key": "k"}, ("recap", "intro", "credits", "preview")),
        ("emby", {"url": "http://e", "api_key": "k"}, ("intro", "credits")),
        ("plex", {"url": "http://p", "token": "t"}, ("intro",)),
        ("plex_db", {"database": "/x.db"}, ("intro", "credits")),
        ("kodi", {}, ("recap", "intro", "credits", "preview")),
        ("matroska", {}, ("recap", "intro", "credits", "preview")),
    ],
)
def test_every_target_takes_by_default_every_kind_it_can_represent(
    kind: str, options: dict[str, object], kinds: tuple[str, ...]
) -> None:
    assert parse_options(target(kind, **options), environ={}).kinds == kinds


def test_kinds_are_kept_in_episode_order_each_once(tmp_path: Path) -> None:
    text = '[[targets]]\nname = "k"\nkind = "kodi"\nkinds = ["credits", "intro", "credits"]\n'
    config = load_config(write(tmp_path, text), env={}, parse_target=lambda t, c: parse_target(t, c, environ={}))
    [kodi] = build_publishers(config, environ={})
    assert kodi.kinds == ("intro", "credits")
