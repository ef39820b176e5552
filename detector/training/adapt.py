"""The lone-episode network fitted to one library (issue 19, part 4): the season rule's confident results there are
its labels (pseudo-labels), so the network learns what this library's intros and story sound and look like.

An episode without siblings is decided by the seed network alone, which was trained on our generated shows and can
hear another make's voices as a theme (docs/training.md, "The position prior"). The same library's complete seasons
are decided by repetition, which does not depend on what the network has heard: those answers label the library.
The two CNNs keep their weights (a library of a few dozen shows would overfit them), so every episode is embedded
once, by the same code that embeds it at inference; only the LSTM and its head are trained, on the embeddings, as
in the training rounds' `--freeze-embeddings`, held near the shipped weights. A version counts only when it finds
more of the labelled intros of shows it was not fitted on than the shipped model does, and it carries the
signatures of what it was fitted on (detector.domain), so that inference gives it only episodes that look alike.

Three pieces: which results label (pseudo_labels, pure), the episodes embedded (embed_labels, decodes), the fit
(fit for one group of shows, fit_library one make at a time; no I/O). `intro-daemon adapt`
(daemon/commands/adapt.py) reads the results from the database and keeps the versions.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
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
    tune_share: float = 0.25  # of the shows, to pick the epoch and the interval parameters on


@dataclass(frozen=True)
class Adapted:
    checkpoint: Checkpoint
    improved: bool  # more of the tuning shows' labelled intros found (or as many, with fewer false ones)
    tune_loss_before: float  # the tuning shows' summed BCE per episode, starting weights
    tune_loss_after: float  # the same, the weights kept
    before: Found  # the tuning shows' intros found by the starting weights
    after: Found  # by the weights kept


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
    """`start` (a seed model) with its LSTM and head trained further on the embedded episodes. Raises ValueError
    when they come from too few shows to fit and tune on."""
    if start.dims.n_extra:
        raise ValueError(f"{start.version} is a season model; the lone-episode model is a seed model")
    shows = sorted({e.show for e in episodes})
    if len(shows) < MIN_SHOWS:
        raise ValueError(
            f"labels from {len(shows)} show(s); adapting needs complete seasons (at least {MIN_SEASON_EPISODES} "
            f"episodes decided by repetition) of at least {MIN_SHOWS} shows"
        )
    started = time.monotonic()
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    random.Random(cfg.seed).shuffle(shows)
    tune_shows = set(shows[: max(1, round(len(shows) * cfg.tune_share))])
    fitting = [e for e in episodes if e.show not in tune_shows]
    tuning = [e for e in episodes if e.show in tune_shows]
    model = start.network()
    for module in (model.audio, model.image):
        module.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    anchor = [p.detach().clone() for p in params]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs, eta_min=cfg.lr * 0.05)
    before = _tune_loss(model, tuning)
    best_loss, best_state, best_epoch = before, _copy(model), 0
    history: list[dict[str, object]] = [{"epoch": 0, "train_loss": None, "tune_loss": round(before, 3)}]
    progress(f"epoch 0 (the starting weights): tune loss {before:.2f}")
    for epoch in range(1, cfg.epochs + 1):
        train_loss = _epoch(model, optimizer, fitting, rng, anchor, cfg.anchor)
        schedule.step()
        tune_loss = _tune_loss(model, tuning)
        history.append({"epoch": epoch, "train_loss": round(train_loss, 3), "tune_loss": round(tune_loss, 3)})
        progress(f"epoch {epoch}/{cfg.epochs}: train loss {train_loss:.2f}/episode, tune loss {tune_loss:.2f}")
        if tune_loss < best_loss:
            best_loss, best_state, best_epoch = tune_loss, _copy(model), epoch
    model.load_state_dict(best_state)
    intervals = start.intervals
    tuned = None
    found_before = _found(start.network(), start.intervals, tuning)
    found_after = found_before
    if best_epoch:
        # The network's scores moved: its threshold and DBSCAN's parameters are picked again, on the same shows.
        found, tuned = tune_intervals([e.intro for e in tuning], _scores(model, tuning))
        intervals = replace(
            start.intervals, threshold=found.threshold, eps_s=found.eps_s, min_samples=found.min_samples
        )
        found_after = _found(model, intervals, tuning)
    progress(f"tuning shows, alone: starting weights {found_before}; adapted {found_after}")
    card = {
        **{k: v for k, v in start.card.items() if k not in ("held_out", "history", "tune_report", "tune_corpus")},
        "trained": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "corpus": f"{start.card.get('corpus')} (as {start.version}), then this library's results (pseudo-labels)",
        "earlier_rounds": [*start.card.get("earlier_rounds", []), round_summary(start)],
        "adapted_from": start.version,
        "train_config": {"adapt": True, **asdict(cfg)},
        "fit_shows": sorted(e for e in set(shows) - tune_shows),
        "tune_shows": sorted(tune_shows),
        "fit_episodes": len(fitting),
        "tune_episodes": len(tuning),
        "pseudo_labels": {
            "episodes": len(episodes),
            "with_intro": sum(e.intro is not None for e in episodes),
            "shows": len(shows),
            "tune_loss_before": round(before, 1),
            "tune_loss_after": round(best_loss, 1),
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
    improved = best_epoch != 0 and found_after.beats(found_before)
    return Adapted(checkpoint, improved, before, best_loss, found_before, found_after)


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


def _found(model: IntroNet, intervals: IntervalParams, episodes: Sequence[Embedded]) -> Found:
    right = false = 0
    for e, s in zip(episodes, _scores(model, episodes), strict=True):
        intro = find_intro(s, intervals)
        if intro is not None and intro.duration_s > LONE_MAX_INTRO_S:
            intro = None
        if e.intro is None:
            false += intro is not None
        elif intro is not None:
            right += abs(intro.start_s - e.intro[0]) <= 2.0 and abs(intro.end_s - e.intro[1]) <= 2.0
    with_intro = sum(e.intro is not None for e in episodes)
    return Found(right, with_intro, false, len(episodes) - with_intro)


def _tune_loss(model: IntroNet, episodes: Sequence[Embedded]) -> float:
    """The tuning episodes' summed BCE per episode, whole episodes, as inference reads them."""
    return mean_loss([e.labels.numpy() for e in episodes], _scores(model, episodes))


def _copy(model: IntroNet) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
