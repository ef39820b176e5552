"""The lone-episode network fitted to one library (issue 19, part 4): the season rule's confident results there are
its labels (pseudo-labels), so the network learns what this library's intros and story sound and look like.

An episode without siblings is decided by the seed network alone, which was trained on our generated shows and can
hear another make's voices as a theme (docs/training.md, "The position prior"). The same library's complete seasons
are decided by repetition, which does not depend on what the network has heard: those answers label the library.
The two CNNs keep their weights (a library of a few dozen shows would overfit them), so every episode is embedded
once, by the same code that embeds it at inference; only the LSTM and its head are trained, on the embeddings, as
in the training rounds' `--freeze-embeddings`, held near the shipped weights. The fit is cross-validated by show:
each labelled show is judged once by a network fitted on the others, and those judgements pick the epoch and the
interval parameters and decide whether the version counts (it must find more of the labelled intros than the
shipped model does); the version is then fitted on every show. It carries the signatures of what it was fitted
on (detector.domain), so that inference gives it only episodes that look alike.

Three pieces: which results label (pseudo_labels, pure), the episodes embedded (embed_labels, decodes), the fit
(fit for one group of shows, fit_library one make at a time; no I/O). `intro-daemon adapt`
(daemon/commands/adapt.py) reads the results from the database and keeps the versions.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from detector.checkpoint import Checkpoint
from detector.domain import fitted_domain, makes
from detector.errors import DecodeError
from detector.features import second_labels
from detector.intervals import IntervalParams, find_intro
from detector.model import IntroNet, sequence_loss
from detector.result import LONE_MAX_INTRO_S
from detector.training.augmentation import crop_span, splice_cuts
from detector.training.card import round_summary
from detector.training.tuning import mean_loss, tune_intervals

if TYPE_CHECKING:  # the inference pipeline is only needed to embed, at run time
    from detector.inference import Detector

log = logging.getLogger(__name__)

# What marks a result as the season's: found by repetition among siblings. The others were decided by a network
# (the one being adapted, or the season model's own sure interval), or left unmarked for a reason that is no answer.
BY_THE_SEASON = "repetition"
NOT_BY_THE_SEASON = frozenset({"network-only", "sibling-unmatched", "too-long", "copies", "capped"})
# An intro the rule marked with less support than this is left out: a label the rule doubted teaches the doubt.
MIN_CONFIDENCE = 0.5
# A season labels its episodes only with this many of them decided by repetition: with two, a scene of a two-part
# story both share passes for an intro.
MIN_SEASON_EPISODES = 3
MIN_SHOWS = 3  # at least one to tune on and two to fit
SEASON_FOLDERS = ("season", "series", "specials", "s0", "s1", "s2")  # how a season's folder name starts (lower case)
SPLICE_SHARE = 0.5  # share of steps on an episode with another show's intro put in its place (see _spliced)


@dataclass(frozen=True)
class LibraryResult:
    """One episode's stored result, as adapt reads it."""

    path: Path
    season: str  # the season's folder: its episodes are each other's siblings
    intro: tuple[float, float] | None  # (start_s, end_s); None: no intro
    confidence: float | None
    signals: tuple[str, ...]


@dataclass(frozen=True)
class PseudoLabel:
    path: Path
    show: str  # fitting and tuning are split by show, as in training
    intro: tuple[float, float] | None


def by_the_season(result: LibraryResult) -> bool:
    """The season's repetition decided this result, surely enough to teach from."""
    if BY_THE_SEASON not in result.signals or NOT_BY_THE_SEASON.intersection(result.signals):
        return False
    return result.intro is None or (result.confidence or 0.0) >= MIN_CONFIDENCE


def pseudo_labels(results: Sequence[LibraryResult]) -> list[PseudoLabel]:
    """The results that label the library: decided by the season (by_the_season), in seasons with at least
    MIN_SEASON_EPISODES of them. An episode the season says has no intro (a pilot, a special) is a label too."""
    seasons: dict[str, list[LibraryResult]] = {}
    for result in results:
        if by_the_season(result):
            seasons.setdefault(result.season, []).append(result)
    labels = []
    for season, members in sorted(seasons.items()):
        if len(members) >= MIN_SEASON_EPISODES:
            labels += [PseudoLabel(r.path, show_of(season), r.intro) for r in sorted(members, key=lambda r: r.path)]
    return labels


def show_of(season: str) -> str:
    """Show/Season 01 -> Show: the seasons of one show share its intro, so they fit or tune together."""
    folder = Path(season)
    return str(folder.parent) if folder.name.lower().startswith(SEASON_FOLDERS) else str(folder)


@dataclass(frozen=True)
class Embedded:
    """A labelled episode as the LSTM reads it: the lone model's embedding of its analysed span."""

    path: Path
    show: str
    intro: tuple[float, float] | None
    embedding: torch.Tensor  # (n_seconds, embedding_width) float16

    @property
    def labels(self) -> torch.Tensor:
        n = self.embedding.shape[0]
        return torch.from_numpy(second_labels(n, *(self.intro or (None, None))))


def embed_labels(
    detector: Detector, labels: Sequence[PseudoLabel], progress: Callable[[str], None] = log.info
) -> tuple[list[Embedded], list[str]]:
    """Each labelled episode embedded by `detector` (a seed model's, every second's exact picture: the inference
    path). Returns the embedded ones and, for each file that could not be read, what went wrong."""
    embedded, skipped = [], []
    for n, label in enumerate(labels, 1):
        try:
            analysis = detector.analyse(label.path)
        except (DecodeError, OSError) as e:
            skipped.append(f"{label.path}: {e}")
            log.warning("adapt: skipping %s: %s", label.path, e)
            continue
        embedded.append(Embedded(label.path, label.show, label.intro, analysis.embedding.detach().half().cpu()))
        progress(f"embedded {n} of {len(labels)}: {label.path.name}")
    return embedded, skipped


@dataclass(frozen=True)
class AdaptConfig:
    epochs: int = 6
    lr: float = 5e-4  # the training rounds' rate with frozen CNNs (docs/training.md)
    # Squared distance to the starting weights, added to each step's loss (L2-SP): what the library does not teach
    # stays as the shipped model had it. Without it, a fit on a library forgot our own recipe's intros (within +-2 s
    # on two tuning corpora 83 -> 38-46 %); at 3, 71-65 %, and the library's make was learnt as well (docs/training.md).
    anchor: float = 3.0
    seed: int = 0
    # Shows are judged in this many groups, each by a network fitted on the others. One split (a quarter of the
    # shows held out) judged a small library by its 4-6 held-out intros: which shows those were moved the held-out
    # shows of the library's make by up to 32 points; judged by all of them, by 7 (docs/training.md).
    folds: int = 4


@dataclass(frozen=True)
class Adapted:
    checkpoint: Checkpoint
    improved: bool  # more of the labelled intros found by networks that did not see their show (or as many, with
    # fewer false ones) than by the starting weights
    tune_loss_before: float  # every labelled episode's summed BCE, starting weights, per episode
    tune_loss_after: float  # the same, each show judged by the network fitted without it, at the epoch kept
    before: Found  # the labelled intros found by the starting weights
    after: Found  # by networks that did not see their show, at the epoch and interval parameters kept


@dataclass(frozen=True)
class Found:
    """How one network does on labelled episodes alone: intros with both ends within +-2 s of the label, and
    intros marked where the label has none."""

    right: int
    intros: int
    false: int
    without: int

    def __str__(self) -> str:
        return f"{self.right} of {self.intros} intros within +-2 s, {self.false} of {self.without} marked where none"

    def beats(self, other: Found) -> bool:
        return (self.right, -self.false) > (other.right, -other.false)


def fit(
    start: Checkpoint,
    episodes: Sequence[Embedded],
    cfg: AdaptConfig = AdaptConfig(),
    progress: Callable[[str], None] = log.info,
) -> Adapted:
    """`start` (a seed model) with its LSTM and head trained further on the embedded episodes, judged show by
    show (cfg.folds groups, each by a network fitted on the others), then fitted on them all. Raises ValueError
    when they come from too few shows."""
    if start.dims.n_extra:
        raise ValueError(f"{start.version} is a season model; the lone-episode model is a seed model")
    shows = sorted({e.show for e in episodes})
    if len(shows) < MIN_SHOWS:
        raise ValueError(
            f"labels from {len(shows)} show(s); adapting needs complete seasons (at least {MIN_SEASON_EPISODES} "
            f"episodes decided by repetition) of at least {MIN_SHOWS} shows"
        )
    started = time.monotonic()
    random.Random(cfg.seed).shuffle(shows)
    folds = [set(shows[k :: min(cfg.folds, len(shows))]) for k in range(min(cfg.folds, len(shows)))]
    judged: list[Embedded] = []  # every episode, in the order of `scores`' lists
    scores: list[list[np.ndarray]] = [[] for _ in range(cfg.epochs + 1)]  # per epoch, by networks without the show
    train_losses: list[list[float]] = [[] for _ in range(cfg.epochs + 1)]
    for k, fold in enumerate(folds, 1):
        fitting = [e for e in episodes if e.show not in fold]
        held = [e for e in episodes if e.show in fold]
        progress(f"fold {k}/{len(folds)}: fitted on {len(fitting)} episodes, judged on {len(held)} of other shows")
        for epoch, (model, train_loss) in enumerate(_training(start, fitting, cfg.epochs, cfg)):
            scores[epoch] += _scores(model, held)
            train_losses[epoch].append(train_loss)
        judged += held
    truths = [e.labels.numpy() for e in judged]
    losses = [mean_loss(truths, epoch_scores) for epoch_scores in scores]
    history: list[dict[str, object]] = []
    for epoch, loss in enumerate(losses):
        mean_train = round(float(np.mean(train_losses[epoch])), 3) if epoch else None
        history.append({"epoch": epoch, "train_loss": mean_train, "tune_loss": round(loss, 3)})
        progress(f"epoch {epoch}/{cfg.epochs}: shows judged by networks without them, loss {loss:.2f}/episode")
    best_epoch = int(np.argmin(losses))
    intervals, tuned = start.intervals, None
    found_before = _found(start.intervals, judged, scores[0])
    found_after = found_before
    if best_epoch:
        # The network's scores moved: its threshold and DBSCAN's parameters are picked again, on the same judgements.
        found, tuned = tune_intervals([e.intro for e in judged], scores[best_epoch])
        intervals = replace(
            start.intervals, threshold=found.threshold, eps_s=found.eps_s, min_samples=found.min_samples
        )
        found_after = _found(intervals, judged, scores[best_epoch])
    progress(f"every show judged without it, alone: starting weights {found_before}; adapted {found_after}")
    improved = best_epoch != 0 and found_after.beats(found_before)
    model = start.network()
    if improved:
        progress(f"fitting on all {len(episodes)} episodes, {best_epoch} epoch(s)")
        *_, (model, _) = _training(start, episodes, best_epoch, cfg)  # one network, trained epoch after epoch
    card = {
        **{k: v for k, v in start.card.items() if k not in ("held_out", "history", "tune_report", "tune_corpus")},
        "trained": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "corpus": f"{start.card.get('corpus')} (as {start.version}), then this library's results (pseudo-labels)",
        "earlier_rounds": [*start.card.get("earlier_rounds", []), round_summary(start)],
        "adapted_from": start.version,
        "train_config": {"adapt": True, **asdict(cfg), "epochs_kept": best_epoch},
        "fit_shows": sorted(shows),
        "tune_shows": [],
        "folds": [sorted(fold) for fold in folds],
        "fit_episodes": len(episodes),
        "tune_episodes": 0,
        "pseudo_labels": {
            "episodes": len(episodes),
            "with_intro": sum(e.intro is not None for e in episodes),
            "shows": len(shows),
            "tune_loss_before": round(losses[0], 1),
            "tune_loss_after": round(losses[best_epoch], 1),
            "tune_found_before": str(found_before),
            "tune_found_after": str(found_after),
        },
        "history": history,
        "tune_report": None if tuned is None else asdict(tuned),
        "train_seconds": round(time.monotonic() - started),
    }
    domain = fitted_domain([e.embedding for e in episodes], [e.show for e in episodes])
    card["domain"] = {"episodes": len(episodes), "min_similarity": round(domain.min_similarity, 4)}
    version = f"{start.version.split('+')[0]}+adapt-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    checkpoint = replace(
        start, version=version, intervals=intervals, state_dict=model.state_dict(), card=card, domain=domain
    )
    return Adapted(checkpoint, improved, losses[0], losses[best_epoch], found_before, found_after)


def _training(
    start: Checkpoint, episodes: Sequence[Embedded], epochs: int, cfg: AdaptConfig
) -> Iterator[tuple[IntroNet, float]]:
    """The network after each epoch on `episodes` (the starting weights first, with loss 0), the same steps for
    the same seed: a fold's run and the final fit agree up to the epoch kept. The learning rate anneals over
    cfg.epochs whatever `epochs` is."""
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    model = start.network()
    for module in (model.audio, model.image):
        module.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    anchor = [p.detach().clone() for p in params]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs, eta_min=cfg.lr * 0.05)
    yield model, 0.0
    for _ in range(epochs):
        train_loss = _epoch(model, optimizer, episodes, rng, anchor, cfg.anchor)
        schedule.step()
        yield model, train_loss


def fit_library(
    start: Checkpoint,
    episodes: Sequence[Embedded],
    cfg: AdaptConfig = AdaptConfig(),
    progress: Callable[[str], None] = log.info,
) -> Adapted:
    """fit() on the library's shows of one make at a time (detector.domain.makes: the make with the most shows
    first, those with at least MIN_SHOWS), then on the whole library when it holds several makes; the first version
    that does better than the shipped model on its unseen shows, else the last one tried (not improved). One make at
    a time since a fit learns what it is shown and forgets the rest: fitted to two makes at once, neither was learnt
    well enough (docs/training.md), while the make the shipped model already knows has nothing to gain."""
    shows = [e.show for e in episodes]
    groups = [g for g in makes([e.embedding for e in episodes], shows) if len(g) >= MIN_SHOWS]
    everything = sorted(set(shows))
    if everything not in groups:
        groups.append(everything)
    adapted = None
    for group in groups:
        chosen = set(group)
        progress(f"fitting {len(group)} of {len(everything)} shows" + (" (alike)" if group != everything else ""))
        try:
            adapted = fit(start, [e for e in episodes if e.show in chosen], cfg, progress)
        except ValueError:
            if group == everything:
                raise
            continue
        if adapted.improved:
            break
        progress(f"not better on its unseen shows ({adapted.before}; adapted: {adapted.after})")
    assert adapted is not None
    return adapted


def _epoch(
    model: IntroNet,
    optimizer: torch.optim.Optimizer,
    episodes: Sequence[Embedded],
    rng: torch.Generator,
    anchor: Sequence[torch.Tensor],
    anchor_weight: float,
) -> float:
    model.train()
    donors = [e for e in episodes if e.intro is not None]
    total = 0.0
    for i in torch.randperm(len(episodes), generator=rng).tolist():
        embedding, labels, intro = episodes[i].embedding.float(), episodes[i].labels, episodes[i].intro
        if donors and torch.rand(1, generator=rng).item() < SPLICE_SHARE:
            donor = donors[int(torch.randint(len(donors), (1,), generator=rng))]
            if donor.show != episodes[i].show:
                embedding, labels, intro = _spliced(episodes[i], donor, rng)
        a, b = crop_span(embedding.shape[0], intro, rng)
        optimizer.zero_grad()
        loss = sequence_loss(model.classify(embedding[a:b].unsqueeze(0))[0], labels[a:b])
        trained = [p for p in model.parameters() if p.requires_grad]
        drift = sum(((p - p0) ** 2).sum() for p, p0 in zip(trained, anchor, strict=True))
        (loss + anchor_weight * drift).backward()
        optimizer.step()
        total += float(loss.detach())
    return total / max(1, len(episodes))


def _spliced(
    host: Embedded, donor: Embedded, rng: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float]]:
    """The host's intro (or, without one, a point of its first 40 %) replaced by the donor's, whole seconds: the
    library's intros at other positions and next to other stories (training's splice, on embeddings)."""
    assert donor.intro is not None
    n = host.embedding.shape[0]
    cut_a, cut_b, d_a, d_b = splice_cuts(n, host.intro, donor.embedding.shape[0], donor.intro, rng)
    embedding = torch.cat([host.embedding[:cut_a], donor.embedding[d_a:d_b], host.embedding[cut_b:]]).float()
    labels = torch.cat([torch.zeros(cut_a), donor.labels[d_a:d_b], torch.zeros(n - cut_b)])
    return embedding, labels, (float(cut_a), float(cut_a + d_b - d_a))


@torch.inference_mode()
def _scores(model: IntroNet, episodes: Sequence[Embedded]) -> list[np.ndarray]:
    model.eval()
    return [torch.sigmoid(model.classify(e.embedding.float().unsqueeze(0))[0]).numpy() for e in episodes]


def _found(intervals: IntervalParams, episodes: Sequence[Embedded], scores: Sequence[np.ndarray]) -> Found:
    right = false = 0
    for e, s in zip(episodes, scores, strict=True):
        intro = find_intro(s, intervals)
        if intro is not None and intro.duration_s > LONE_MAX_INTRO_S:
            intro = None
        if e.intro is None:
            false += intro is not None
        elif intro is not None:
            right += abs(intro.start_s - e.intro[0]) <= 2.0 and abs(intro.end_s - e.intro[1]) <= 2.0
    with_intro = sum(e.intro is not None for e in episodes)
    return Found(right, with_intro, false, len(episodes) - with_intro)
