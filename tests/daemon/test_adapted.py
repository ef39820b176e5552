"""The adapted lone-episode models kept in the state folder (daemon/adapted.py): versions, the active one,
rollback, and what the daemon loads when the choice is unusable."""

import logging
from pathlib import Path

import pytest

from daemon.adapted import ACTIVE_FILE, SHIPPED, ActiveChoice, AdaptedModelError, AdaptedModels, worker_config
from daemon.config import load_config


def _add(store: AdaptedModels, tmp_path: Path, name: str) -> str:
    weights = tmp_path / f".{name}.pt.tmp"
    weights.write_bytes(b"weights of " + name.encode())
    return store.add(weights, f"# Model card: {name}\n- library: 12 episodes\n")


def test_versions_are_kept_made_active_and_rolled_back(tmp_path: Path):
    store = AdaptedModels(tmp_path / "state")
    assert store.names() == [] and store.active_name() == SHIPPED and store.active() is None
    first = _add(store, tmp_path, "adapt-20261207-100000")
    assert store.names() == [first] and store.active() is None  # kept, not yet used
    store.use(first)
    assert (
        store.active() == store.dir / f"{first}.pt" and store.active().read_bytes() == b"weights of " + first.encode()
    )
    second = _add(store, tmp_path, "adapt-20261208-090000")
    store.use(second)
    assert store.names() == [first, second] and store.active_name() == second
    assert "- library: 12 episodes" in store.card(second)
    assert store.rollback() == first and store.active_name() == first
    assert store.rollback() == SHIPPED and store.active() is None
    assert store.rollback() == SHIPPED  # nothing before the shipped model
    store.use(second)
    (store.dir / f"{first}.pt").unlink()
    store.use(SHIPPED)
    store.use(second)
    assert store.rollback() == SHIPPED  # the deleted version is passed over


def test_an_unknown_name_or_an_unreadable_choice_says_what_to_do(tmp_path: Path):
    store = AdaptedModels(tmp_path / "state")
    kept = _add(store, tmp_path, "adapt-20261207-100000")
    with pytest.raises(AdaptedModelError, match=f"no adapted model 'adapt-1' in .* \\(kept: {kept}; or 'shipped'\\)"):
        store.use("adapt-1")
    with pytest.raises(AdaptedModelError, match="expected a name like"):
        store.add(tmp_path / "weights.pt", "")
    (store.dir / ACTIVE_FILE).write_text("{not json")
    with pytest.raises(AdaptedModelError, match=r"active.json: unreadable .* `intro-daemon adapt --use shipped`"):
        store.active()
    store.use(kept)  # writing a choice replaces the unreadable one
    assert store.active_name() == kept


def _config(tmp_path: Path, extra: str = ""):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(f'[library]\nfolders = ["{tmp_path}"]\n[state]\ndir = "{tmp_path / "state"}"\n{extra}')
    return load_config(path)


def test_the_daemon_loads_the_active_version_unless_the_config_names_one_or_a_cluster_detects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    config = _config(tmp_path)
    assert worker_config(config).lone_weights is None  # nothing adapted: the shipped model
    store = AdaptedModels(config.state.dir)
    store.use(_add(store, tmp_path, "adapt-20261207-100000"))
    assert worker_config(config).lone_weights == store.dir / "adapt-20261207-100000.pt"
    named = _config(tmp_path, f'[worker]\nlone_weights = "{tmp_path / "mine.pt"}"\n')
    assert worker_config(named).lone_weights == tmp_path / "mine.pt"
    with caplog.at_level(logging.WARNING, "daemon.adapted"):
        clustered = _config(tmp_path, '[cluster]\naddress = "tcp://nas:8786"\n')
        assert worker_config(clustered).lone_weights is None
    assert "whose workers load the shipped model" in caplog.text
    (store.dir / "adapt-20261207-100000.pt").unlink()
    with caplog.at_level(logging.ERROR, "daemon.adapted"):
        assert worker_config(config).lone_weights is None  # the daemon keeps running, on the shipped model
    assert (
        "no adapted model 'adapt-20261207-100000'" in caplog.text
        and "shipped lone-episode model is used" in caplog.text
    )


def test_a_running_service_sees_each_change_of_the_choice_once(tmp_path: Path):
    store = AdaptedModels(tmp_path / "state")
    choice = ActiveChoice(tmp_path / "state")
    assert not choice.changed()  # nothing adapted yet, nothing changed
    first = _add(store, tmp_path, "adapt-20261207-100000")
    assert not choice.changed()  # kept, not made active
    store.use(first)
    assert choice.changed() and not choice.changed()
    store.use(first)  # already active: the file is not written again
    assert not choice.changed()
    store.rollback()
    assert choice.changed() and not choice.changed()
    (store.dir / ACTIVE_FILE).unlink()
    assert choice.changed()  # gone: the shipped model again
