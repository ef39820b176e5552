from pathlib import Path

import pytest

from daemon.config import (
    IGNORE_PATTERNS,
    VIDEO_EXTENSIONS,
    Config,
    ConfigError,
    PathMap,
    TargetConfig,
    WorkerConfig,
    default_state_dir,
    load_config,
)

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text), env={})
    return str(e.value)


def test_no_file_gives_embedded_defaults(tmp_path: Path) -> None:
    config = load_config(None, library=[tmp_path], env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert config.library.folders == (tmp_path.resolve(),)
    assert config.library.extensions == frozenset(VIDEO_EXTENSIONS)
    assert config.library.ignore == IGNORE_PATTERNS
    assert config.worker.workers == 1
    assert config.state.dir == tmp_path / "state" / "intro-daemon"
    assert config.state.database_url == f"sqlite:///{tmp_path}/state/intro-daemon/intro-daemon.db"
    assert config.targets == () and config.source is None


def test_state_dir_prefers_systemd_then_xdg_then_home() -> None:
    assert default_state_dir({"STATE_DIRECTORY": "/var/lib/intro-daemon", "XDG_STATE_HOME": "/x"}) == Path(
        "/var/lib/intro-daemon"
    )
    assert default_state_dir({"XDG_STATE_HOME": "/x"}) == Path("/x/intro-daemon")
    assert default_state_dir({"XDG_STATE_HOME": "relative"}) == Path.home() / ".local/state/intro-daemon"
    assert default_state_dir({}) == Path.home() / ".local/state/intro-daemon"


def test_example_file_loads_and_documents_every_section() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.library.folders == (Path("/mnt/tv"),)
    assert config.state.dir == Path("/var/lib/intro-daemon")
    assert config.worker.nice == 10
    assert [t.kind for t in config.targets] == ["jellyfin", "kodi"]
    assert config.path_maps and config.targets[0].path_maps


def test_file_values_and_relative_paths(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
            [library]
            folders = ["tv", "~/anime"]
            extensions = [".MKV"]
            settle_s = 2
            polling = true
            [state]
            dir = "state"
            [worker]
            workers = 2
            torch_threads = 3
            audio_languages = ["JPN", "eng"]
            cascade = false
            detection_process = false
            unload_after_s = 30
            """,
        ),
        env={},
    )
    assert config.library.folders == (tmp_path / "tv", Path.home() / "anime")
    assert config.library.extensions == frozenset({".mkv"})
    assert config.worker.audio_languages == ("jpn", "eng")
    assert config.library.settle_s == 2.0 and config.library.polling
    assert config.state.database_url == f"sqlite:///{tmp_path}/state/intro-daemon.db"
    assert (config.worker.workers, config.worker.torch_threads) == (2, 3)
    assert not config.worker.cascade and WorkerConfig().cascade
    assert not config.worker.detection_process and WorkerConfig().detection_process
    assert config.worker.unload_after_s == 30.0


def test_cli_library_replaces_the_files_folders(tmp_path: Path) -> None:
    path = write(tmp_path, '[library]\nfolders = ["/mnt/tv"]\n')
    assert load_config(path, library=[tmp_path], env={}).library.folders == (tmp_path.resolve(),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "colour = 1\n",
            "colour: unknown key (allowed here: cluster, library, path_maps, push, state, targets, worker)",
        ),
        ("[library]\nsettle = 3\n", "library.settle: unknown key (allowed here: extensions, folders, ignore,"),
        ("[[path_maps]]\ndaemon = '/a'\nserver = '/b'\nclient = '/c'\n", "path_maps[0].client: unknown key"),
        ("[worker]\nworkers = 0\n", "worker.workers: must be an integer >= 1, got 0"),
        ("[worker]\nworkers = 1.5\n", "worker.workers: must be an integer >= 1, got 1.5"),
        ("[worker]\nnice = 40\n", "worker.nice: must be an integer from 0 to 19, got 40"),
        ("[worker]\nshutdown_grace_s = 30\n", "worker.shutdown_grace_s: must be a number from 0 to 9, got 30"),
        ("[library]\nsettle_s = 'soon'\n", "library.settle_s: must be a number >= 0, got 'soon'"),
        ("[library]\npolling = 'yes'\n", "library.polling: must be true or false, got 'yes'"),
        ("[library]\nfolders = '/mnt/tv'\n", "library.folders: must be an array of non-empty strings"),
        ("[library]\nextensions = ['mkv']\n", "library.extensions: 'mkv' must start with '.'"),
        ("library = 3\n", "library: must be a table, got 3"),
        ("[[targets]]\nkind = 'kodi'\n", "targets[0].name: required"),
        ("[[targets]]\nname = 'a'\n", "targets[0].kind: required"),
        ("[[targets]]\nname='a'\nkind='kodi'\n[[targets]]\nname='a'\nkind='kodi'\n", "targets[1].name: 'a' is used"),
        ("[[path_maps]]\ndaemon = '/mnt/tv'\n", "path_maps[0].server: required"),
        ("[push]\nretry_backoff_s = 600\nretry_cap_s = 60\n", "push.retry_cap_s: 60 is shorter than"),
        ("[push]\nretry_backoff_s = 0\n", "push.retry_backoff_s"),
        ("[cluster]\naddress = 'nas:8786'\n", "cluster.address: 'nas:8786' must be a Dask scheduler address"),
        (
            "[cluster]\naddress = 'tcp://nas:8786'\nfallback = 'gpu'\n",
            "cluster.fallback: must be one of pending, local",
        ),
        ("[cluster]\naddress = 'tls://nas:8786'\n", "cluster.tls_ca_file: required with a tls:// address"),
        ("[cluster]\naddress = 'tcp://nas:8786'\nin_flight = 0\n", "cluster.in_flight: must be an integer >= 1"),
        ("path_maps = ['/a']\n", "path_maps: must be an array of tables ([[path_maps]])"),
    ],
)
def test_unknown_keys_and_bad_values_name_the_key_and_what_is_allowed(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(tmp_path, text)


def test_unreadable_or_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml", env={})
    assert "not valid TOML" in error_of(tmp_path, "[library\n")


def test_targets_keep_options_for_the_publisher_and_hide_them(tmp_path: Path) -> None:
    checked: list[TargetConfig] = []
    config = load_config(
        write(
            tmp_path,
            """
            [[targets]]
            name = "home"
            kind = "jellyfin"
            url = "http://127.0.0.1:8096"
            api_key = "s3cret"
            [[targets.path_maps]]
            daemon = "/mnt/tv"
            server = "/data/tv"
            """,
        ),
        env={},
        parse_target=lambda target, _config: checked.append(target),
    )
    (target,) = config.targets
    assert dict(target.options) == {"url": "http://127.0.0.1:8096", "api_key": "s3cret"}
    assert target.path_maps == PathMap.from_pairs([("/mnt/tv", "/data/tv")])
    assert "s3cret" not in repr(config)
    assert checked == [target]
    with pytest.raises(TypeError):
        target.options["url"] = "elsewhere"  # type: ignore[index]


def test_parse_target_errors_stop_the_load(tmp_path: Path) -> None:
    def parse(target: TargetConfig, _config: Config) -> None:
        raise ConfigError(f"targets.{target.name}.url: required")

    path = write(tmp_path, "[[targets]]\nname = 'home'\nkind = 'jellyfin'\n")
    with pytest.raises(ConfigError, match=r"targets.home.url: required"):
        load_config(path, env={}, parse_target=parse)


def test_path_maps_target_first_then_global(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[path_maps]]
        daemon = "/mnt/tv"
        server = "/data/tv/"

        [[targets]]
        name = "pc"
        kind = "plex"
        [[targets.path_maps]]
        daemon = "/mnt/tv/anime"
        server = 'D:\\Anime'
        """,
    )
    config = load_config(path, env={})
    (target,) = config.targets
    path_map = target.path_maps.then(config.path_maps)
    assert path_map.to_server(Path("/mnt/tv/anime/S1/e1.mkv")) == "D:\\Anime\\S1\\e1.mkv"
    assert path_map.to_server(Path("/mnt/tv/Show/e1.mkv")) == "/data/tv/Show/e1.mkv"
    assert path_map.to_server(Path("/elsewhere/e1.mkv")) == "/elsewhere/e1.mkv"
    assert path_map.to_server(Path("/mnt/tvx/e.mkv")) == "/mnt/tvx/e.mkv"
