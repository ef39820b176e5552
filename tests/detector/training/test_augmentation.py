from pathlib import Path

import torch

from detector.audio import FRAMES_PER_SECOND, WINDOW_S
from detector.training.augmentation import MIN_CROP_S, augment, crop_span, shift_bins, splice
from detector.training.dataset import Example


def test_splice_puts_the_donor_intro_in_place_of_the_host_intro():
    def example(n: int, truth: tuple[float, float] | None, value: int, show: str) -> Example:
        labels = torch.zeros(n)
        if truth:
            labels[int(truth[0]) : int(truth[1])] = 1
        return Example(
            path=Path(f"/{show}.mkv"),
            show=show,
            season=Path("/"),
            truth=truth,
            mel=torch.full((4, (n + WINDOW_S) * FRAMES_PER_SECOND), float(value)),
            frames=torch.full((n, 2, 2, 3), value, dtype=torch.uint8),
            labels=labels,
            fingerprints=None,  # type: ignore[arg-type]
        )

    host, donor = example(100, (10.0, 30.0), 1, "a"), example(80, (40.0, 52.0), 2, "b")
    out = splice(host, donor, torch.Generator().manual_seed(0))
    assert out.frames.shape[0] == 100 - 20 + 12 and out.truth == (10.0, 22.0)
    assert out.mel.shape[1] == (out.frames.shape[0] + WINDOW_S) * FRAMES_PER_SECOND
    assert out.labels.sum() == 12 and bool((out.frames[10:22] == 2).all()) and bool((out.frames[22:] == 1).all())
    lone = splice(example(60, None, 1, "a"), donor, torch.Generator().manual_seed(1))
    assert lone.frames.shape[0] == 72 and lone.labels.sum() == 12 and lone.truth is not None


def test_pitch_shift_moves_a_tone_along_the_mel_axis_and_keeps_the_shape():
    mel = torch.zeros(16, 5)
    mel[6] = 1.0
    assert torch.equal(shift_bins(mel, 2)[8], torch.ones(5)) and shift_bins(mel, 2).sum() == 5
    assert torch.equal(shift_bins(mel, -3)[3], torch.ones(5)) and shift_bins(mel, -3).shape == mel.shape
    edge = torch.arange(16.0).unsqueeze(1).expand(16, 5)
    assert shift_bins(edge, 2)[:3, 0].tolist() == [0.0, 0.0, 0.0]  # uncovered bins repeat the lowest one
    assert shift_bins(edge, -2)[-3:, 0].tolist() == [15.0, 15.0, 15.0]


def test_augmentation_keeps_shapes_and_changes_the_sound_and_picture(examples: list[Example]):
    ex = examples[0]
    mel, frames = augment(ex, torch.Generator().manual_seed(3))
    assert mel.shape == ex.mel.shape and mel.dtype == torch.float32 and bool(torch.isfinite(mel).all())
    assert frames.shape == ex.frames.shape and frames.dtype == torch.uint8
    assert float((mel - ex.mel.float()).abs().mean()) > 0.01
    again, _ = augment(ex, torch.Generator().manual_seed(3))
    assert torch.equal(mel, again)  # reproducible from the training seed


def test_crops_never_cut_the_intro_and_start_anywhere():
    # A 200 s span whose intro is 30-60 s: spans may hold it whole or none of it, and their first second is story
    # before the intro, the intro's first second, or story after it, so the LSTM's zero state predicts nothing.
    rng = torch.Generator().manual_seed(0)
    starts_in = {"before": 0, "at": 0, "after": 0}
    whole = 0
    for _ in range(2000):
        a, b = crop_span(200, (30.0, 60.0), rng)
        assert 0 <= a < b <= 200 and b - a >= MIN_CROP_S
        holds = a <= 30 and b >= 60
        assert holds or b <= 30 or a >= 60, f"[{a}, {b}) cuts the intro"
        whole += holds
        starts_in["before" if a < 30 else "at" if a == 30 else "after"] += 1
    assert starts_in["after"] > 300 and starts_in["before"] > 600 and starts_in["at"] > 0
    assert 1000 < whole < 1800  # uncropped episodes and crops that hold the intro
    # Without an intro any span of at least MIN_CROP_S seconds, starting anywhere.
    spans = [crop_span(200, None, rng) for _ in range(500)]
    assert all(b - a >= MIN_CROP_S for a, b in spans) and max(a for a, _ in spans) > 150
