"""The lone-episode models `intro-daemon adapt` fitted to this library, kept side by side in <state dir>/models/,
and which one the daemon uses for episodes without siblings (none: the shipped seed model).

Files, not the database: weights are tens of megabytes of tensors, and a copy of the state folder carries them with
it. `active.json` names the active version and the ones active before it (for --rollback); it is replaced
atomically, so a reader sees the old or the new choice, never half of one. No torch here: the daemon reads the
choice (at start, and again whenever `ActiveChoice` sees the file replaced), the adapt command writes the weights.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import replace
from pathlib import Path

from daemon.config import Config, WorkerConfig

log = logging.getLogger(__name__)

MODELS_DIR = "models"
ACTIVE_FILE = "active.json"
SHIPPED = "shipped"  # the name that stands for the shipped seed model
NAME = re.compile(r"adapt-\d{8}-\d{6}")
# How soon a running service takes up a version made active (adapt, --use, --rollback) when it has nothing to
# detect; a detection about to start looks first in any case.
MODEL_CHECK_S = 30.0


class AdaptedModelError(Exception):
    """The models folder cannot be used as asked; the message says which file or name, and what to do."""


class AdaptedModels:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / MODELS_DIR

    def names(self) -> list[str]:
        """The versions kept, oldest first (their names hold the time they were made)."""
        if not self.dir.is_dir():
            return []
        return sorted(p.stem for p in self.dir.glob("adapt-*.pt") if NAME.fullmatch(p.stem))

    def path(self, name: str) -> Path:
        path = self.dir / f"{name}.pt"
        if not NAME.fullmatch(name) or not path.is_file():
            kept = ", ".join(self.names()) or "none"
            raise AdaptedModelError(f"no adapted model {name!r} in {self.dir} (kept: {kept}; or {SHIPPED!r})")
        return path

    def card(self, name: str) -> str:
        card = self.dir / f"{name}.md"
        return card.read_text(encoding="utf-8") if card.is_file() else ""

    def _choice(self) -> tuple[str, list[str]]:
        file = self.dir / ACTIVE_FILE
        if not file.exists():
            return SHIPPED, []
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
            active, before = str(doc["active"]), [str(n) for n in doc["before"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise AdaptedModelError(
                f"{file}: unreadable ({e}); `intro-daemon adapt --use {SHIPPED}` (or a kept version) writes it again"
            ) from e
        return active, before

    def active_name(self) -> str:
        return self._choice()[0]

    def active(self) -> Path | None:
        """The weights of the active version; None: the shipped model. Raises AdaptedModelError when the choice
        cannot be read or names a version that is not there."""
        name = self.active_name()
        return None if name == SHIPPED else self.path(name)

    def add(self, weights: Path, card: str) -> str:
        """Keep the weights written at `weights` (moved here) with their model card; returns the new version's name.
        Not made active: see use()."""
        name = NAME.search(weights.name)
        if name is None:
            raise AdaptedModelError(f"{weights}: expected a name like adapt-YYYYMMDD-HHMMSS.pt")
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / f"{name.group()}.md").write_text(card, encoding="utf-8")
        os.replace(weights, self.dir / f"{name.group()}.pt")
        return name.group()

    def use(self, name: str) -> None:
        """Make `name` (a kept version, or SHIPPED) the active one; the one active before can be gone back to."""
        if name != SHIPPED:
            self.path(name)  # raises for a name that is not kept
        try:
            active, before = self._choice()
        except AdaptedModelError:
            active, before = SHIPPED, []  # an unreadable choice is what this replaces
        if name != active:
            self._write(name, [*before, active])

    def rollback(self) -> str:
        """Go back to the version active before the current one (the shipped model when there was none); returns
        its name. A version deleted since is passed over."""
        _, before = self._choice()
        while before:
            name = before.pop()
            if name == SHIPPED or (self.dir / f"{name}.pt").is_file():
                self._write(name, before)
                return name
        self._write(SHIPPED, [])
        return SHIPPED

    def _write(self, active: str, before: list[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{ACTIVE_FILE}.tmp"
        tmp.write_text(json.dumps({"active": active, "before": before[-20:]}, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.dir / ACTIVE_FILE)


class ActiveChoice:
    """Tells a running service that the active version changed (adapt, --use, --rollback): one stat of
    active.json per question. The file is only ever replaced whole, so a new inode or mtime is a new choice."""

    def __init__(self, state_dir: Path) -> None:
        self._file = state_dir / MODELS_DIR / ACTIVE_FILE
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._file)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def changed(self) -> bool:
        """Whether the choice changed since the last question (or since this was made)."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return True


def worker_config(config: Config) -> WorkerConfig:
    """The worker's config with the lone-episode model the state folder makes active, unless the config names one
    ([worker] lone_weights). An unusable choice is logged and the shipped model used: the daemon keeps running."""
    if config.worker.lone_weights is not None:
        return config.worker
    try:
        active = AdaptedModels(config.state.dir).active()
    except AdaptedModelError as e:
        log.error("%s: the shipped lone-episode model is used meanwhile", e)
        return config.worker
    if active is None:
        return config.worker
    if config.cluster is not None:
        # The cluster's workers load the shipped models, and refuse detections stamped with another version.
        log.warning(
            "adapted model %s not used: detections run on a cluster, whose workers load the shipped model", active
        )
        return config.worker
    return replace(config.worker, lone_weights=active)
