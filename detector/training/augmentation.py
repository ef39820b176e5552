"""Training-time changes to an episode: what an intro is stays, what identifies a training show goes.

Random sibling subsets (repetition_input), sound and picture changes (augment), a donor's intro spliced into another
episode (splice), random spans (crop_span). Each draws from the training generator, so a run is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from detector.audio import FRAMES_PER_SECOND, PAD_S
from detector.repetition import repetition_scores
from detector.training.dataset import Example

LONE_EPISODE_SHARE = 0.25  # fused training: share of steps that see no siblings, so lone episodes keep working
CROP_SHARE = 0.5  # share of training steps on a random span of the episode (see crop_span)
MIN_CROP_S = 20  # a crop keeps at least this many seconds; episodes under twice that are never cropped


def repetition_input(
    ex: Example, seasons: Mapping[Path, Sequence[Example]], rng: torch.Generator | None = None
) -> torch.Tensor:
    """(n_seconds, n_features) repetition evidence against the episode's siblings.

    With rng (training), a random subset of the siblings, none at all in LONE_EPISODE_SHARE of the cases.
    """
    siblings = [o.fingerprints for o in seasons[ex.season] if o is not ex]
    if rng is not None and siblings:
        if torch.rand(1, generator=rng).item() < LONE_EPISODE_SHARE:
            siblings = []
        else:
            keep = torch.randperm(len(siblings), generator=rng)[
                : 1 + int(torch.randint(len(siblings), (1,), generator=rng))
            ]
            siblings = [siblings[i] for i in keep.tolist()]
    return torch.from_numpy(repetition_scores(ex.fingerprints, siblings).matrix())


EQ_KNOTS = 5  # control points of the random equaliser across the mel bins
EQ_DEPTH = 0.1  # log-mel units (1.0 = 40 dB)
PITCH_BINS = 2  # largest pitch shift, mel bins (~1.5 semitones where the bins are log-spaced)


def shift_bins(mel: torch.Tensor, bins: int) -> torch.Tensor:
    """(n_mels, n_frames) moved up (bins > 0) or down the mel axis; the bins it uncovers repeat the edge bin."""
    if bins > 0:
        return torch.cat([mel[:1].expand(bins, -1), mel[:-bins]])
    if bins < 0:
        return torch.cat([mel[-bins:], mel[-1:].expand(-bins, -1)])
    return mel


def augment(ex: Example, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Changes that keep what an intro is but break what identifies a training show: its colour grade, its
    loudness, spectral colour and key, mirrored pictures."""
    mel = ex.mel.float() + 0.03 * torch.randn(ex.mel.shape, generator=rng)
    # Spectral tilt and a masked band: a show's mix and its theme's instrumentation are not what makes an intro.
    tilt = (torch.rand(1, generator=rng).item() - 0.5) * 0.3
    mel = mel + tilt * torch.linspace(-1.0, 1.0, mel.shape[0]).unsqueeze(1)
    band = int(torch.randint(0, 9, (1,), generator=rng))
    low = int(torch.randint(0, mel.shape[0] - band + 1, (1,), generator=rng))
    mel[low : low + band] = mel.min()
    # A smooth random equaliser (up to ~+-4 dB per band) and a few mel bins of pitch: the training split has few
    # tracks, and a network that knows them by ear marks a held-out show's music scenes as its intro.
    knots = (torch.rand(EQ_KNOTS, generator=rng) - 0.5) * 2 * EQ_DEPTH
    curve = torch.nn.functional.interpolate(knots.view(1, 1, -1), size=mel.shape[0], mode="linear", align_corners=True)
    mel = mel + curve.view(-1, 1)
    mel = shift_bins(mel, int(torch.randint(-PITCH_BINS, PITCH_BINS + 1, (1,), generator=rng)))
    frames = ex.frames
    if torch.rand(1, generator=rng).item() < 0.5:
        frames = frames.flip(2)  # mirror: a title card is still a title card
    # Per-channel gain: every show has its own colour wash, which the image CNN otherwise learns by heart.
    gain = 0.7 + 0.6 * torch.rand(3, generator=rng)
    frames = (frames.float() * gain).clamp_(0, 255).to(torch.uint8)
    return mel, frames


def splice_cuts(
    n_host: int,
    host_truth: tuple[float, float] | None,
    n_donor: int,
    donor_truth: tuple[float, float],
    rng: torch.Generator,
) -> tuple[int, int, int, int]:
    """Where splice cuts, whole seconds: the host's [cut_a, cut_b) (its intro, or an empty cut at a random point of
    its first 40 %) is replaced by the donor's [d_a, d_b) (its intro)."""
    if host_truth is not None:
        cut_a, cut_b = int(host_truth[0]), min(n_host, int(np.ceil(host_truth[1])))
    else:
        cut_a = cut_b = int(torch.randint(0, max(1, int(0.4 * n_host)), (1,), generator=rng))
    return cut_a, cut_b, int(donor_truth[0]), min(n_donor, int(np.ceil(donor_truth[1])))


def splice(host: Example, donor: Example, rng: torch.Generator) -> Example:
    """The host episode with its intro (or, without one, a random point of its first 40 %) replaced by the donor's
    intro, whole seconds: new pairings of an intro with a story and a position, from the same material.

    Seed model only: the composite has no siblings whose repetition would agree with it.
    """
    assert donor.truth is not None
    n = host.frames.shape[0]
    cut_a, cut_b, d_a, d_b = splice_cuts(n, host.truth, donor.frames.shape[0], donor.truth, rng)
    pad = PAD_S * FRAMES_PER_SECOND

    def columns(ex: Example, a: int, b: int) -> torch.Tensor:
        return ex.mel[:, pad + a * FRAMES_PER_SECOND : pad + b * FRAMES_PER_SECOND]

    mel = torch.cat(
        [
            host.mel[:, :pad],
            columns(host, 0, cut_a),
            columns(donor, d_a, d_b),
            columns(host, cut_b, n),
            host.mel[:, pad + n * FRAMES_PER_SECOND :],
        ],
        dim=1,
    )
    frames = torch.cat([host.frames[:cut_a], donor.frames[d_a:d_b], host.frames[cut_b:]])
    labels = torch.cat([torch.zeros(cut_a), donor.labels[d_a:d_b], torch.zeros(n - cut_b)])
    shift = cut_a - d_a
    truth = (donor.truth[0] + shift, donor.truth[1] + shift)
    return replace(host, mel=mel, frames=frames, labels=labels, truth=truth)


def crop_span(n_seconds: int, truth: tuple[float, float] | None, rng: torch.Generator) -> tuple[int, int]:
    """A random span [a, b) of the analysed seconds that never cuts the intro, in CROP_SHARE of the cases: one
    that holds the whole intro and starts anywhere before it, or one of story only, before or after the intro.

    The LSTM starts every sequence from the same zero state, so it can count seconds: trained on sequences that
    begin at the episode's start, where most intros are, it learns "the first seconds are the intro" (issue 25:
    a lone file scored 0.7 for its first seconds of silence, 0.2 three minutes in). Spans that start anywhere,
    with story or intro at their first second, leave nothing to learn from the position.
    """
    if torch.rand(1, generator=rng).item() >= CROP_SHARE or n_seconds < 2 * MIN_CROP_S:
        return 0, n_seconds

    def draw(lo: int, hi: int) -> int:  # uniform in [lo, hi]
        return lo + int(torch.randint(0, max(0, hi - lo) + 1, (1,), generator=rng))

    if truth is None:
        a = draw(0, n_seconds - MIN_CROP_S)
        return a, draw(a + MIN_CROP_S, n_seconds)
    first, last = int(truth[0]), min(n_seconds, int(np.ceil(truth[1])))
    kinds = ["whole"]
    if first >= MIN_CROP_S:
        kinds.append("before")
    if n_seconds - last >= MIN_CROP_S:
        kinds.append("after")
    kind = kinds[int(torch.randint(len(kinds), (1,), generator=rng))] if len(kinds) > 1 else "whole"
    if kind == "before":
        a = draw(0, first - MIN_CROP_S)
        return a, draw(a + MIN_CROP_S, first)
    if kind == "after":
        a = draw(last, n_seconds - MIN_CROP_S)
        return a, draw(a + MIN_CROP_S, n_seconds)
    a = draw(0, min(first, n_seconds - MIN_CROP_S))
    return a, draw(max(last, a + MIN_CROP_S), n_seconds)
