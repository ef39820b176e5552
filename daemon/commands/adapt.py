"""`intro-daemon adapt`: fit the network that decides episodes without siblings to this library, from the results
its complete seasons got by repetition (detector/training/adapt.py), and keep the versions.

    intro-daemon adapt                 fit a new version; make it active when it beats the shipped model on shows
                                       it was not fitted on
    intro-daemon adapt --list          the versions kept, the active one marked
    intro-daemon adapt --use NAME      make a kept version (or "shipped") the active one
    intro-daemon adapt --rollback      go back to the version active before

A change of the active model puts the episodes the lone network decided back in the queue; every other result
stays, for `rescan` too (db.episodes.has_result). A running service notices the change and loads the new model
(daemon.adapted.ActiveChoice), no restart.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from daemon.adapted import MODEL_CHECK_S, SHIPPED, AdaptedModelError, AdaptedModels
from daemon.commands.common import quiet_library_logs, read_only
from daemon.config import Config
from db import episodes, summary
from db.models import EpisodeState
from db.session import make_engine, make_sessions
from detector.result import lone_model_decided

if TYPE_CHECKING:  # torch: imported when a version is fitted, not for --list
    from detector.training.adapt import AdaptConfig, PseudoLabel

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    adapt = sub.add_parser(
        "adapt",
        parents=[parent],
        help="fit the lone-episode network to this library's complete seasons; list, use or roll back versions",
    )
    which = adapt.add_mutually_exclusive_group()
    which.add_argument("--list", action="store_true", help="the versions kept, the active one marked")
    which.add_argument("--use", metavar="NAME", help=f"make a kept version (or {SHIPPED!r}) the active one")
    which.add_argument("--rollback", action="store_true", help="go back to the version active before the current one")
    adapt.add_argument("--epochs", type=int, default=6, help="passes over the labelled episodes (default: 6)")
    adapt.add_argument("--threads", type=int, default=None, help="torch threads (default: the config's)")
    adapt.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    quiet_library_logs()
    return _main(args)


def _adapt(args: argparse.Namespace, config: Config, engine: Engine, session: Session) -> int:
    store = AdaptedModels(config.state.dir)
    try:
        if args.list:
            print("\n".join(_list_lines(store)))
            return 0
        if args.use or args.rollback:
            if config.cluster is not None:
                return _refuse_cluster()
            if args.rollback:
                name = store.rollback()
            else:
                store.use(args.use)
                name = args.use
            print(f"active lone-episode model: {name}")
            _say_requeued(requeue_lone_decided(config))
            return 0
        return _fit(args, config, session, store)
    except AdaptedModelError as e:
        print(f"intro-daemon adapt: {e}", file=sys.stderr)
        return 2


_main = read_only(_adapt)


def _list_lines(store: AdaptedModels) -> list[str]:
    active = store.active_name()
    lines = [f"{'*' if active == SHIPPED else ' '} {SHIPPED:<22} the lone-episode model intro-daemon ships"]
    for name in store.names():
        lines.append(f"{'*' if active == name else ' '} {name:<22} {_summary(store.card(name))}")
    lines.append(f"(* active; kept in {store.dir})")
    return lines


def _summary(card: str) -> str:
    """The line of the model card that says what the version learned from."""
    return next((line[2:] for line in card.splitlines() if line.startswith("- library: ")), "")


def _refuse_cluster() -> int:
    print(
        "intro-daemon adapt: detections run on a cluster ([cluster] in the config), whose workers load the shipped "
        "models: an adapted one cannot be used there",
        file=sys.stderr,
    )
    return 2


def _fit(args: argparse.Namespace, config: Config, session: Session, store: AdaptedModels) -> int:
    from detector.training.adapt import AdaptConfig, LibraryResult, pseudo_labels

    if config.cluster is not None:
        return _refuse_cluster()
    results = []
    latest = summary.latest_detections(session)
    for season, members in summary.episodes_by_season(session).items():
        for episode in members:
            record = latest.get(episode.id)
            if episode.state != EpisodeState.DONE or record is None:
                continue
            if (record.file_size, record.file_mtime_ns) != (episode.size, episode.mtime_ns):
                continue
            intro = None if record.start_s is None or record.end_s is None else (record.start_s, record.end_s)
            signals = tuple(s for s in record.signals.split(",") if s)
            results.append(LibraryResult(Path(episode.path), season, intro, record.confidence, signals))
    labels = pseudo_labels(results)
    shows = {label.show for label in labels}
    print(f"{len(labels)} of {len(results)} results decided by their season's repetition label {len(shows)} show(s)")
    if not labels:
        print("intro-daemon adapt: nothing to learn from yet: detect complete seasons first", file=sys.stderr)
        return 2
    return _train(args, config, store, labels, AdaptConfig(epochs=args.epochs))


def _train(
    args: argparse.Namespace, config: Config, store: AdaptedModels, labels: Sequence[PseudoLabel], cfg: AdaptConfig
) -> int:
    from detector.checkpoint import Checkpoint
    from detector.inference import Detector
    from detector.training.adapt import embed_labels, fit_library
    from detector.training.card import model_card
    from detector.weights import MODELS

    # Always from the shipped model: a version fitted on an earlier one would carry its mistakes forward.
    start = Checkpoint.load(MODELS["seed"])
    detector = Detector.load(
        MODELS["seed"],
        threads=args.threads or config.worker.torch_threads,
        languages=config.worker.audio_languages,
        memory_limit_mb=config.worker.memory_limit_mb or None,
        cascade=False,  # every second's exact picture: what the lone model is asked about at inference, after its cascade
        segments=False,
    )
    embedded, skipped = embed_labels(detector, labels, progress=print)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    try:
        adapted = fit_library(start, embedded, cfg, progress=print)
    except ValueError as e:
        print(f"intro-daemon adapt: {e}", file=sys.stderr)
        return 2
    before, after = adapted.tune_loss_before, adapted.tune_loss_after
    loss = f"loss of the shows judged without them {before:.1f} -> {after:.1f} per episode"
    if not adapted.improved:
        print("not better than the shipped model on the shows it was not fitted on: nothing kept, nothing changed")
        return 0
    name = adapted.checkpoint.version.split("+")[-1]
    store.dir.mkdir(parents=True, exist_ok=True)
    tmp = store.dir / f".{name}.pt.tmp"
    adapted.checkpoint.save(tmp)
    store.add(tmp, model_card(Checkpoint.load(tmp)))
    store.use(name)
    print(f"active lone-episode model: {name} ({loss}); `intro-daemon adapt --rollback` goes back")
    _say_requeued(requeue_lone_decided(config))
    return 0


def requeue_lone_decided(config: Config) -> int:
    """The episodes the lone network decided (no season's repetition in their result) go back in the queue, to be
    decided again by the lone model now active; every other result stays (db.episodes.has_result: `rescan` too
    redoes only these). A running service loads the new model and queues them (daemon.adapted.MODEL_CHECK_S).
    Returns how many."""
    engine = make_engine(config.state.database_url)
    try:
        with make_sessions(engine).begin() as session:
            alone = [
                record.episode_id
                for record in summary.latest_detections(session).values()
                if lone_model_decided(record.signals.split(","))
            ]
            queued = episodes.requeue_done(session, alone)
    finally:
        engine.dispose()
    return queued


def _say_requeued(queued: int) -> None:
    print(
        f"{queued} episode(s) decided without their season queued again: a running service loads the model and "
        f"detects them within {MODEL_CHECK_S:.0f} s (or `intro-daemon rescan`)"
    )
