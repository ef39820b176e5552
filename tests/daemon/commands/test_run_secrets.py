"""No key ever leaves the process: `intro-daemon -v run` as a real subprocess pushes to three stand-in servers whose
keys are configured the three ways (in the config file, an environment variable, a systemd credential), through
servers that echo the key back (a 401, a 500, a redirect, a body that breaks a publisher), one that is down, a key
rotated by SIGHUP and a reload with a key that cannot be sent. Then every key, whole, URL-encoded or in part, is
looked for in the daemon's log (urllib3's debug lines and tracebacks included), in what `status`, `show` and `push`
print, and in every table of the database."""

import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.daemon.commands.test_run_service import Service, drop_in, intro_daemon
from tests.fakeservers.emby import FakeEmby
from tests.fakeservers.jellyfin import FakeJellyfin
from tests.fakeservers.plex import FakePlex

pytestmark = pytest.mark.slow

TIMEOUT_S = 240.0  # four real detections on a busy 2-core machine, and the pushes after each

FILE_KEY = "cfgKey+7Qx/9Lm=Zt4Rw"  # jellyfin: api_key in the config file
ENV_KEY = "envKey-3Vb8Nq2Jh6Pd"  # emby: api_key_env
CREDENTIAL_KEY = "credTok_5Gy1Ws9Fk4Mc"  # plex: token_credential
ROTATED_KEY = "hupKey+2Xc7Tn5Ls8Rq"  # jellyfin's key after a SIGHUP
BROKEN_KEY = "badKey4Hq8Zr\nsecondLine9Pw"  # a key pasted with a line break: no HTTP header can carry it
KEYS = (FILE_KEY, ENV_KEY, CREDENTIAL_KEY, ROTATED_KEY, BROKEN_KEY)
FRAGMENT = 10  # this many characters of a key in a row count as a leak (a message cut short mid-key)


def forms(key: str) -> set[str]:
    return {key, quote(key, safe=""), quote_plus(key), repr(key)[1:-1]}


def leaks(text: str) -> bool:
    """Whether `text` holds a fragment of a key, in any of its forms."""
    return any(
        form[i : i + FRAGMENT] in text for key in KEYS for form in forms(key) for i in range(len(form) - FRAGMENT + 1)
    )


def echoing(key: str) -> str:
    return f'invalid token "{key}" (as sent: {quote(key, safe="")})'


def jellyfin_target(key: str, url: str) -> str:
    return f'[[targets]]\nname = "jf"\nkind = "jellyfin"\nurl = "{url}"\napi_key = "{key}"\n'


class Secrets:
    """The service, its three servers and the three ways its keys reach it."""

    def __init__(self, service: Service, tmp_path: Path) -> None:
        self.service = service
        self.episodes = [service.season / f"S01E{n:02d}.mkv" for n in range(1, 5)]
        paths = [str(p) for p in self.episodes]
        self.jellyfin = FakeJellyfin(FILE_KEY, {p: f"jf{n}" for n, p in enumerate(paths)}).start()
        self.emby = FakeEmby(ENV_KEY, {p: str(100 + n) for n, p in enumerate(paths)}).start()
        sections = {"1": (str(service.season), {p: str(200 + n) for n, p in enumerate(paths)})}
        self.plex = FakePlex(CREDENTIAL_KEY, sections).start()
        credentials = tmp_path / "credentials"
        credentials.mkdir()
        (credentials / "plex").write_text(CREDENTIAL_KEY + "\n")
        self.environ = {"EMBY_API_KEY": ENV_KEY, "CREDENTIALS_DIRECTORY": str(credentials)}
        self.base_config = service.config.read_text()
        self.configure(FILE_KEY)

    def configure(self, jellyfin_key: str) -> None:
        toml_key = jellyfin_key.replace("\n", "\\n")
        self.service.config.write_text(
            self.base_config
            + jellyfin_target(toml_key, self.jellyfin.url)
            + f'[[targets]]\nname = "emby"\nkind = "emby"\nurl = "{self.emby.url}"\napi_key_env = "EMBY_API_KEY"\n'
            + f'[[targets]]\nname = "plex"\nkind = "plex"\nurl = "{self.plex.url}"\ntoken_credential = "plex"\n'
        )
        self.service.config.chmod(0o600)

    def start(self) -> None:
        prefix = ["env", *(f"{k}={v}" for k, v in self.environ.items())]
        self.service.start(prefix, options=["-v"])

    def command(self, *args: str) -> str:
        """`intro-daemon -v <args> --config ...` in the service's environment: what it printed, both streams."""
        argv = [*intro_daemon(), "-v", *args, "--config", str(self.service.config)]
        done = subprocess.run(argv, env={**os.environ, **self.environ}, capture_output=True, text=True, timeout=120)
        return f"$ {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}"

    def pushes(self) -> list[tuple[str, str, str, str | None]]:
        rows = self.service.rows(
            "SELECT p.target, e.path, p.state, p.last_error FROM pushes p JOIN episodes e ON e.id = p.episode_id"
        )
        return [(target, Path(path).name, state, error) for target, path, state, error in rows]

    def settled(self, count: int) -> bool:
        """`count` push rows, each done, failed, or waiting after an error."""
        rows = self.pushes()
        return len(rows) == count and all(s in ("done", "failed") or (s == "pending" and e) for _, _, s, e in rows)

    def database_text(self) -> str:
        """Every table, as SQL, and every blob as text (APScheduler pickles its jobs)."""
        with sqlite3.connect(self.service.db) as c:
            lines = list(c.iterdump())
            for (table,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                for row in c.execute(f'SELECT * FROM "{table}"'):
                    lines += [value.decode("latin-1") for value in row if isinstance(value, bytes)]
        return "\n".join(lines)

    def stop(self) -> None:
        for server in (self.jellyfin, self.emby, self.plex):
            server.stop()


@pytest.fixture
def secrets(tmp_path: Path, detector_weights: Path | None) -> Iterator[Secrets]:
    service = Service(tmp_path, detector_weights)
    s = Secrets(service, tmp_path)
    yield s
    if service.proc is not None:
        service.proc.kill()
        service.proc.wait()
    s.stop()


def test_no_key_reaches_a_log_line_a_command_s_output_or_the_database(
    secrets: Secrets, season_media: list[Path]
) -> None:
    service = secrets.service
    # Jellyfin refuses twice (the probe at start, the probe before the first push), echoing the key.
    secrets.jellyfin.fail_next(401, 2, echoing(FILE_KEY), path="/System/Info")
    # Emby fails once with the key where a message cut at 200 characters would split it, then redirects with it.
    cut = "Internal server error while handling api_key=".ljust(188, ".") + ENV_KEY
    secrets.emby.fail_next(500, 1, cut, path="/emby/chapter_api/get_chapters")
    location = f"https://login.example/?api_key={quote(ENV_KEY, safe='')}&token={ENV_KEY}"
    secrets.emby.fail_next(302, 1, "", path="/emby/chapter_api/get_chapters", headers={"Location": location})
    # Plex answers one page with the token where a number belongs: the publisher breaks on it (a traceback).
    page = {"MediaContainer": {"size": 0, "totalSize": CREDENTIAL_KEY, "Metadata": []}}
    secrets.plex.fail_next(200, 1, page, path="/library/sections/1/all")

    secrets.start()
    for episode, media in zip(secrets.episodes[:3], season_media, strict=True):
        drop_in(media, episode)
    service.wait(lambda: secrets.settled(9), "every push of three episodes to end", TIMEOUT_S)

    # The key rotated by SIGHUP, and refused with it twice; Plex goes down.
    secrets.configure(ROTATED_KEY)
    secrets.jellyfin.api_key = ROTATED_KEY
    secrets.jellyfin.fail_next(401, 2, echoing(ROTATED_KEY), path="/System/Info")
    secrets.plex.stop()
    service.signal(signal.SIGHUP)
    service.wait(lambda: "configuration reloaded" in service.log_text(), "the reload")
    drop_in(season_media[0], secrets.episodes[3])
    service.wait(lambda: secrets.settled(12), "the pushes of a fourth episode", TIMEOUT_S)

    # A reload with a key that no HTTP header can carry.
    secrets.configure(BROKEN_KEY)
    unexpected = service.log_text().count("failed unexpectedly")
    service.signal(signal.SIGHUP)
    service.wait(
        lambda: "not reloaded" in service.log_text() or service.log_text().count("failed unexpectedly") > unexpected,
        "the reload with a broken key",
    )
    assert service.signal(signal.SIGTERM) == 0
    daemon_log = service.log_text()
    database = secrets.database_text()  # before `push` below overwrites the errors
    states = {(target, name): state for target, name, state, _ in secrets.pushes()}

    outputs = [secrets.command("status", "--errors", "50")]
    outputs += [secrets.command("show", str(episode)) for episode in secrets.episodes]
    secrets.plex.start()  # back, on the same port
    outputs += [secrets.command("push", "--retry-failed")]  # with the broken key
    secrets.configure(ROTATED_KEY)
    outputs += [secrets.command("push", "--retry-failed"), secrets.command("status", "--errors", "50")]
    database += secrets.database_text()

    texts = {"log": daemon_log, "commands": "\n".join(outputs), "database": database}
    leaked = {where: [line for line in text.splitlines() if leaks(line)] for where, text in texts.items()}
    assert not any(leaked.values()), "\n".join(f"{where}: {line}" for where, lines in leaked.items() for line in lines)

    # Every failure happened, and was said: the test looked where keys could have gone.
    for said in ("HTTP 401", "HTTP 500", "redirected to", "cannot connect to", "failed unexpectedly"):
        assert said in daemon_log, said
    assert "urllib3.connectionpool" in daemon_log  # debug logging was on
    assert "Traceback" in daemon_log
    assert "configuration not reloaded: targets.jf.api_key: the key holds a line break" in daemon_log
    assert "push --retry-failed -> 2\nintro-daemon: config: targets.jf.api_key" in outputs[5]
    assert states[("plex", "S01E04.mkv")] == "pending" and list(states.values()).count("failed") == 4
