"""Shared fixtures. Media for the daemon tests: one small procedural season, rendered once per test session."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from daemon.detect import DetectorUnavailable
from db.migrate import upgrade
from db.session import make_engine, make_sessions
from detector import DecodeError, Detection, Intro
from detector.errors import MemoryLimitError


def write_slowly(path: Path, data: bytes, chunks: int = 6, seconds: float = 1.2) -> None:
    """Write `data` in `chunks` pieces over `seconds`, flushing each: how a copy or a download looks to a watcher."""
    step = -(-len(data) // chunks)
    with path.open("wb") as f:
        for start in range(0, len(data), step):
            f.write(data[start : start + step])
            f.flush()
            time.sleep(seconds / chunks)


@pytest.fixture(autouse=True)
def _no_secrets_from_other_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no secret known to `daemon.redact`: a key made up by one test (often a word or a
    letter) would otherwise be blanked out of every later test's messages."""
    from daemon import redact

    monkeypatch.setattr(redact, "_known_forms", ())


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A real SQLite file at the current schema."""
    engine = make_engine(f"sqlite:///{tmp_path}/state/test.db")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessions(engine)


@pytest.fixture(scope="session")
def season_media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three real H.264/AAC MKV episodes (about a minute each) of one procedural season, sorted by name.

    Read-only for tests: copy them where a test needs to change, move or delete them.
    """
    from corpus.procedural import make_season

    out = tmp_path_factory.mktemp("season")
    truths = make_season(out, episodes=3, seed=11)
    return sorted(out / t.path for t in truths)


@pytest.fixture(scope="session")
def detector_weights() -> Path | None:
    """Weights for tests that run the real detector: $INTRO_DAEMON_TEST_WEIGHTS, else the shipped ones (None).
    Skips when there are none to load."""
    from detector import Detector

    override = os.environ.get("INTRO_DAEMON_TEST_WEIGHTS")
    weights = Path(override) if override else None
    try:
        Detector.load(weights)
    except FileNotFoundError as e:
        pytest.skip(f"no detector weights to run the real detector with ({e})")
    return weights


class FakeDetector:
    """Stands in for `detector.Detector` in the daemon's unit tests: reads the file like a detector does, and
    answers by its first bytes: b"CORRUPT" -> DecodeError, b"CRASH" -> RuntimeError, b"TOOLONG" -> no intro (too
    long), else an intro at 10-40 s (b"COPY": found with copies of the episode left out of its season context;
    b"OUTSIDE": by the shipped lone model, the episode unlike the library a fitted one learnt).
    `gate`, when set, holds each detection until it is opened (to test shutdown and claims)."""

    model_version = "fake-1"

    def __init__(self) -> None:
        import threading

        self.calls: list[tuple[Path, tuple[Path, ...], int]] = []  # path, siblings, bytes read
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def detect(self, path: Path, siblings: Sequence[Path] = ()) -> Detection:
        data = path.read_bytes()
        self.calls.append((path, tuple(siblings), len(data)))
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(30)
        if data.startswith(b"CORRUPT"):
            raise DecodeError(path, "no video stream")
        if data.startswith(b"CRASH"):
            raise RuntimeError("out of memory")
        if data.startswith(b"AWAY"):
            raise DetectorUnavailable("cannot reach the scheduler at tcp://nas:8786")
        if data.startswith(b"HUGE"):
            raise MemoryLimitError(path, "over the memory ceiling of 600 MB (worker.memory_limit_mb)")
        scores = tuple(0.9 if 10 <= s < 40 else 0.05 for s in range(60))
        signals = ("network", "copies", "repetition") if data.startswith(b"COPY") else ("network",)
        if data.startswith(b"LONG"):  # a recording longer than twice MAX_ANALYSED_S
            signals = ("network", "capped")
        if data.startswith(b"OUTSIDE"):  # alone, unlike the library the active lone model was fitted to
            signals = ("network", "outside-library")
        if data.startswith(b"SOUND"):  # decided from its sound, the season's repetition (the cascade)
            signals = ("repetition", "sound", "cuts")
        if data.startswith(b"TOOLONG"):  # the network alone marked more than it may call an intro
            return Detection(path, 120.0, None, self.model_version, scores, ("network", "too-long"))
        return Detection(path, 120.0, Intro(10.0, 40.0, 0.9), self.model_version, scores, signals)


@pytest.fixture
def fake_detector() -> FakeDetector:
    return FakeDetector()
