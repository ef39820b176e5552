"""`intro-daemon train` (also `python -m detector.train`): its options, and the run they describe: load the
corpora, train (or re-measure the season rule), write the weights and their model card."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from detector.checkpoint import Checkpoint, postprocessing_dict
from detector.decode import FrameMode
from detector.model import ModelDims
from detector.repetition import RepetitionFeatures
from detector.season_rule import SeasonRuleParams
from detector.training.card import model_card, round_summary
from detector.training.dataset import load_corpus, siblings_of
from detector.training.loop import TrainConfig, train
from detector.training.tuning import edge_offsets, predict, season_contexts
from detector.weights import MODELS

log = logging.getLogger(__name__)

# What `train --help` says.
DESCRIPTION = """Train the seed network on a labelled corpus, tune the interval parameters, write weights and a model card.

    python -m detector.train --corpus data/train --out detector/weights/seed.pt

Shows are split into fitting and tuning shows (the tuning shows pick the best epoch and DBSCAN's eps/min_samples),
or, with --tune-corpus, every training show is fitted and validation corpora of held-out recordings tune; reported
accuracy comes from `intro-daemon eval` on a corpus that neither fitted nor tuned.
"""


def main(argv: Sequence[str] | None = None, prog: str = "python -m detector.train") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    return run(args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument(
        "--corpus", type=Path, nargs="+", required=True, help="corpus roots with truth.json (several are pooled)"
    )
    parser.add_argument("--out", type=Path, default=None, help="weights file (default: the shipped seed/season model)")
    parser.add_argument("--cache", type=Path, default=Path("cache/features"))
    parser.add_argument("--epochs", type=int, default=d.epochs)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--optimizer", choices=("adam", "sgd", "lbfgs"), default=d.optimizer)
    parser.add_argument("--batch-episodes", type=int, default=d.batch_episodes)
    parser.add_argument("--tune-shows", type=int, default=d.tune_shows)
    parser.add_argument(
        "--tune-corpus",
        type=Path,
        nargs="+",
        default=[],
        help="pick the epoch and DBSCAN's parameters on these corpora (held-out recordings: --split val) instead of "
        "on --tune-shows shows of the training corpus, whose recordings the fitting shows share",
    )
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--frame-mode", choices=[m.value for m in FrameMode], default=d.frame_mode)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--splice-share", type=float, default=d.splice_share, help="seed model: spliced episodes")
    parser.add_argument(
        "--average-last",
        type=int,
        default=d.average_last,
        help="also try the mean of the last N epochs' weights on the tuning data (N >= 2; 0: not tried)",
    )
    parser.add_argument(
        "--freeze-embeddings",
        action="store_true",
        help="train the LSTM and its head only (with --init: the CNNs keep the starting weights)",
    )
    parser.add_argument(
        "--init", type=Path, default=None, help="continue training from these weights instead of random ones"
    )
    parser.add_argument(
        "--context-s",
        type=int,
        default=None,
        help="classify each second from the LSTM run over this many seconds around it, not over the whole episode "
        "(0: the whole episode, the seed; default: the --init model's, else 0)",
    )
    parser.add_argument(
        "--sound-features",
        action="store_true",
        help="seed model: the spectral change rate beside the CNN embeddings (speech vs music, detector.audio)",
    )
    parser.add_argument(
        "--audio-blind-share",
        type=float,
        default=d.audio_blind_share,
        help="seed model: share of steps whose audio CNN embedding is hidden",
    )
    parser.add_argument(
        "--lookahead-s", type=int, default=None, help="with --context-s: how many of its seconds follow the second"
    )
    parser.add_argument(
        "--two-sided",
        action="store_true",
        help="with --context-s: read each window forwards up to its second and backwards down to it (a one-way "
        "read gives the second's logit --lookahead-s steps after it, which blurs an intro's ends)",
    )
    parser.add_argument(
        "--retune-rule",
        action="store_true",
        help="season model: apply the season rule's current constants to the weights at --out and re-measure their "
        "edge corrections on the corpus (the network is not trained again)",
    )
    parser.add_argument(
        "--held-out",
        type=Path,
        nargs="+",
        default=[],
        help="after training, detect every episode of these corpora alone with the new weights (they must neither "
        "fit nor tune) and put the figures, by where the intro starts, in the model card",
    )
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="do not train: measure the weights at --out on --held-out and rewrite their model card",
    )
    parser.add_argument(
        "--season-context",
        action="store_true",
        help="fuse cross-episode repetition into the network's input (the season model)",
    )


def retune_rule(args: argparse.Namespace) -> int:
    """After a change to the season rule: take its current fixed constants and re-measure a trained season model's
    edge corrections on the corpus, without training the network again; the card records it."""
    out = args.out or MODELS["season"]
    checkpoint = Checkpoint.load(out)
    fixed = SeasonRuleParams()
    base = replace(
        checkpoint.season_rule, support_threshold=fixed.support_threshold, min_repeated_s=fixed.min_repeated_s
    )
    examples = [ex for root in args.corpus for ex in load_corpus(root, args.cache, checkpoint.frame_mode)]
    model = checkpoint.network()
    seasons = siblings_of(examples)
    start_offset, end_offset = edge_offsets(
        examples, predict(model, examples, seasons), season_contexts(examples, seasons), base
    )
    rule = replace(base, refine=True, start_offset_s=start_offset, end_offset_s=end_offset)
    card = {**checkpoint.card, "intervals": postprocessing_dict(checkpoint.intervals, rule)}
    card["rule_retuned"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {', '.join(str(r) for r in args.corpus)}"
    replace(checkpoint, season_rule=rule, card=card).save(out)
    out.with_suffix(".md").write_text(model_card(Checkpoint.load(out)))
    log.info("edge corrections of %s: start %+.2f s, end %+.2f s", out, start_offset, end_offset)
    return 0


def measure_held_out(out: Path, roots: Sequence[Path]) -> None:
    """Every episode of each corpus detected alone with the weights at `out` (the seed model's path: DBSCAN, shot
    cuts), the report stored in the card and the card rewritten."""
    from detector.inference import Detector
    from detector.labels import load_truth
    from detector.training.evaluation import report_lines, run_corpus

    checkpoint = Checkpoint.load(out)
    detector = Detector.load(out)
    held_out = dict(checkpoint.card.get("held_out", {}))
    for root in roots:
        started = time.monotonic()
        lines = report_lines(run_corpus(detector, root, load_truth(root), lone=True))
        held_out[str(root)] = {"measured": f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}", "lines": lines}
        log.info("%s alone in %.0f s:\n%s", root, time.monotonic() - started, "\n".join(lines))
    replace(checkpoint, card={**checkpoint.card, "held_out": held_out}).save(out)
    out.with_suffix(".md").write_text(model_card(Checkpoint.load(out)))


def _require_truth(option: str, roots: Sequence[Path]) -> None:
    for root in roots:
        if not (root / "truth.json").is_file():
            raise SystemExit(f"{option} {root}: no truth.json there (build one with python -m corpus.build)")


def run(args: argparse.Namespace) -> int:
    _require_truth("--corpus", args.corpus)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.retune_rule:
        return retune_rule(args)
    _require_truth("--held-out", args.held_out)
    if args.measure_only:
        measure_held_out(args.out or MODELS["seed"], args.held_out)
        return 0
    _require_truth("--tune-corpus", args.tune_corpus)
    cfg = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        optimizer=args.optimizer,
        batch_episodes=args.batch_episodes,
        tune_shows=args.tune_shows,
        seed=args.seed,
        frame_mode=args.frame_mode,
        splice_share=args.splice_share,
        average_last=args.average_last,
        freeze_embeddings=args.freeze_embeddings,
        audio_blind_share=args.audio_blind_share,
    )
    started = time.monotonic()
    examples = [ex for root in args.corpus for ex in load_corpus(root, args.cache, FrameMode(cfg.frame_mode))]
    log.info("loaded %d episodes in %.0f s", len(examples), time.monotonic() - started)
    dims = ModelDims(n_extra=len(RepetitionFeatures.FEATURE_NAMES) if args.season_context else 0)
    init = Checkpoint.load(args.init) if args.init else None
    # What the options change in the network's dimensions, on a new network and on the starting weights alike.
    changes: dict[str, Any] = {
        k: v for k, v in (("context_s", args.context_s), ("lookahead_s", args.lookahead_s)) if v is not None
    }
    if args.sound_features:
        changes["n_sound"] = 1
    if args.two_sided:
        changes["two_sided"] = True
    try:
        dims = replace(dims, **changes)
        if init is not None:
            # The window changes no weight's shape (the sound measure widens the LSTM's input, a two-sided
            # read adds its reverse direction: loop.widened).
            init = replace(init, dims=replace(init.dims, **changes))
    except ValueError as e:
        raise SystemExit(f"--context-s/--lookahead-s/--two-sided: {e}") from None
    if init is not None and init.dims.n_extra != dims.n_extra:
        raise SystemExit(
            f"{args.init}: a {'season' if init.dims.n_extra else 'seed'} model; pass --season-context "
            "to continue a season model, leave it out for a seed model"
        )
    tune = [ex for root in args.tune_corpus for ex in load_corpus(root, args.cache, FrameMode(cfg.frame_mode))]
    model, params, rule, card = train(examples, cfg, dims, init=init, tune_examples=tune)
    card["corpus"] = ", ".join(str(root) for root in args.corpus)
    if tune:
        card["tune_corpus"] = ", ".join(str(root) for root in args.tune_corpus)
    round_suffix = ""
    if init is not None:
        # The earlier rounds' data stays part of the model's history.
        card["corpus"] = f"{init.card.get('corpus')} (as {init.version}), then {card['corpus']}"
        earlier = [*init.card.get("earlier_rounds", []), round_summary(init)]
        card["earlier_rounds"] = earlier
        # Stored results carry the version, and a later round the same day must not pass for the earlier one.
        round_suffix = f"-r{len(earlier) + 1}"
    card["feature_seconds"] = round(time.monotonic() - started) - int(card["train_seconds"])  # type: ignore[call-overload]
    kind = "season" if dims.n_extra else "seed"
    version = f"{kind}-{datetime.now(UTC):%Y%m%d}-s{cfg.seed}{round_suffix}"
    checkpoint = Checkpoint(
        version=version,
        dims=model.dims,
        intervals=params,
        season_rule=rule,
        frame_mode=FrameMode(cfg.frame_mode),
        state_dict=model.state_dict(),
        card=card,
    )
    out = args.out or MODELS[kind]
    out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(out)
    out.with_suffix(".md").write_text(model_card(Checkpoint.load(out)))
    log.info("wrote %s (%s), %.1f MB", out, version, out.stat().st_size / 1e6)
    if args.held_out:
        measure_held_out(out, args.held_out)
    return 0
