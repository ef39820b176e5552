"""Jellyfin Intro Skipper's own test media, run through our detector as its TestIntroDetection runs them.

Their test (TestAudioFingerprinting.cs) fingerprints `big_buck_bunny_intro.mp3` (25 s: 5-30 s of the film's opening)
and `big_buck_bunny_clip.mp3` (60 s: 0-60 s of it), compares the pair and asserts one interval per file. The files are
vendored in tests/detector/media/intro_skipper/ (CC-BY 3.0, attribution and hashes in ATTRIBUTION.md); this is the one
test here on media the project did not generate.

Our detector needs a picture, so each file becomes an MKV: the MP3's sound decoded and written losslessly (FLAC) with
a black 5 fps picture. The two files are one season of two, as their test compares two. The detector analyses the
first half of a file, their test the first 60 s; so two cases:
- not padded: the files as they are (ours sees 12 s of the intro file and 30 s of the clip);
- padded: silence (and black) appended to twice each file's length plus 1 s, so that our analysed half is all of it.

Their asserted times come from two generations of the plugin (the same matched points, the second with the corrected
0.1238 s per fingerprint point and the start snapped to 0 when it is <= 5 s):
- ConfusedPolarBear/intro-skipper@686c978: intro file 0-17.792 s, clip 5.12-22.912 s;
- intro-skipper/intro-skipper@64e517d: intro file 0-17.208 s, clip 0 (4.952 before the snap)-22.1602 s.
Their ends are short of the shared 25 s because their FindContiguous scans min(len) - shift points (140 of the 180
points of the intro file at a shift of 40), not because the sound stops matching: FFmpeg's fingerprints of the two
files agree at 179 of those 180 points. Intro Skipper's own recap research names that scan limit as a bug
(intro-skipper/intro-skipper docs/recap-research/B-cross-episode.md, section 4).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from detector import Detection, Detector

pytestmark = pytest.mark.slow

MEDIA = Path(__file__).parent / "media" / "intro_skipper"
SHA256 = {
    "big_buck_bunny_intro.mp3": "53d6094420d8ca0fa6633175c578409a86593722d687e7d7a40ca039b04c4a19",
    "big_buck_bunny_clip.mp3": "38f95f5a728befefaf3db5f1b40be8b861fe1267f689ce5c1255c480844ea566",
}
TOLERANCE_S = 0.5  # issue 19's acceptance

Span = tuple[float, float]
# What their TestIntroDetection asserts: (intro file, clip), each (start, end) in seconds.
ASSERTED: dict[str, tuple[Span, Span]] = {
    "ConfusedPolarBear@686c978": ((0.0, 17.792), (5.12, 22.912)),
    "intro-skipper@64e517d": ((0.0, 17.208), (0.0, 22.1602)),
}
# What their README states the files are: the intro file is 5-30 s of the clip, all of it shared.
README_TRUTH: tuple[Span, Span] = ((0.0, 25.0), (5.0, 30.0))

# Measured 2026-12 with the shipped season model (season+seed weights, post4; the same with post5).
_UNPADDED = (
    "ours, not padded: intro file 0.00-11.83 s, clip 4.95-16.80 s (signals network, repetition, edges). The detector "
    "analyses the first half of a file, floor(25 / 2) = 12 s of the intro file, so no end past 12 s can be found "
    "there; the clip's end follows (5 s + the 12 s shared run)."
)
_PADDED = (
    "ours, padded: intro file 0.00-24.78 s, clip 4.95-29.80 s (signals network, repetition, edges): all 25 s the "
    "files share. Their ends stop at 140 of 180 fingerprint points (their FindContiguous scan limit)."
)
_SNAP = " Their clip start 0 is their snap of 4.952 s to 0 (<= 5 s); ours keeps 4.95 s."
CASES = [
    pytest.param(
        False,
        "ConfusedPolarBear@686c978",
        marks=pytest.mark.xfail(strict=True, reason=_UNPADDED + " Ends 5.96 s and 6.11 s early of theirs."),
        id="not-padded-ConfusedPolarBear@686c978",
    ),
    pytest.param(
        False,
        "intro-skipper@64e517d",
        marks=pytest.mark.xfail(strict=True, reason=_UNPADDED + " Ends 5.38 s and 5.36 s early of theirs." + _SNAP),
        id="not-padded-intro-skipper@64e517d",
    ),
    pytest.param(
        True,
        "ConfusedPolarBear@686c978",
        marks=pytest.mark.xfail(strict=True, reason=_PADDED + " Ours end 6.99 s and 6.89 s later than theirs."),
        id="padded-ConfusedPolarBear@686c978",
    ),
    pytest.param(
        True,
        "intro-skipper@64e517d",
        marks=pytest.mark.xfail(strict=True, reason=_PADDED + " Ours end 7.57 s and 7.64 s later than theirs." + _SNAP),
        id="padded-intro-skipper@64e517d",
    ),
]


def as_video(mp3: Path, dst: Path, pad_to_s: float | None) -> Path:
    """`mp3`'s sound (decoded, then FLAC: lossless) in an MKV with a black 128x72 picture at 5 fps; `pad_to_s`:
    digital silence appended up to that length."""
    with av.open(str(mp3)) as inp:
        rate = inp.streams.audio[0].rate
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=rate)
        chunks = [out.to_ndarray() for frame in inp.decode(audio=0) for out in resampler.resample(frame)]
    samples = np.concatenate(chunks, axis=1).reshape(-1, 2)  # packed stereo
    if pad_to_s is not None:
        silence = np.zeros((int(pad_to_s * rate) - len(samples), 2), np.int16)
        samples = np.concatenate([samples, silence])
    fps, black = 5, np.zeros((72, 128, 3), np.uint8)
    with av.open(str(dst), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": "50"})
        video.width, video.height, video.pix_fmt = 128, 72, "yuv420p"
        audio = out.add_stream("flac", rate=rate, layout="stereo")
        for _ in range(round(len(samples) / rate * fps)):
            out.mux(video.encode(av.VideoFrame.from_ndarray(black, format="rgb24")))
        out.mux(video.encode(None))
        for start in range(0, len(samples), 4096):
            chunk = np.ascontiguousarray(samples[start : start + 4096]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            frame.sample_rate, frame.pts = rate, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return dst


@pytest.fixture(scope="module")
def season(
    tmp_path_factory: pytest.TempPathFactory, detector_weights: Path | None
) -> Callable[[bool], tuple[Detection, Detection]]:
    """padded -> the detections of (intro file, clip), detected as one season of two; each computed once."""
    for name, digest in SHA256.items():
        assert hashlib.sha256((MEDIA / name).read_bytes()).hexdigest() == digest, f"{name} is not the vendored file"
    detector = Detector.load(detector_weights, threads=1)
    found: dict[bool, tuple[Detection, Detection]] = {}

    def detect(padded: bool) -> tuple[Detection, Detection]:
        if padded not in found:
            folder = tmp_path_factory.mktemp("padded" if padded else "as-is")
            paths = []
            for name in SHA256:
                with av.open(str(MEDIA / name)) as probe:
                    duration_s = float(probe.duration or 0) / av.time_base
                pad_to_s = 2 * duration_s + 1.0 if padded else None
                paths.append(as_video(MEDIA / name, folder / Path(name).with_suffix(".mkv").name, pad_to_s))
            results = dict(detector.detect_season(paths))
            intro, clip = (results[p] for p in paths)
            assert isinstance(intro, Detection) and isinstance(clip, Detection), (intro, clip)
            found[padded] = intro, clip
        return found[padded]

    return detect


def spans(detections: tuple[Detection, Detection]) -> tuple[Span, Span]:
    intro, clip = detections
    assert intro.intro is not None and clip.intro is not None, (intro.signals, clip.signals)
    return (intro.intro.start_s, intro.intro.end_s), (clip.intro.start_s, clip.intro.end_s)


def within(ours: tuple[Span, Span], theirs: tuple[Span, Span]) -> bool:
    pairs = zip((t for span in ours for t in span), (t for span in theirs for t in span), strict=True)
    return all(abs(a - b) <= TOLERANCE_S for a, b in pairs)


@pytest.mark.parametrize(("padded", "version"), CASES)
def test_our_intro_is_within_half_a_second_of_what_intro_skippers_test_asserts(
    season: Callable[[bool], tuple[Detection, Detection]], padded: bool, version: str
) -> None:
    ours = spans(season(padded))
    assert within(ours, ASSERTED[version]), f"ours {ours}, theirs {ASSERTED[version]} ({version})"


def test_padded_our_intro_is_the_run_the_readme_says_the_files_share(
    season: Callable[[bool], tuple[Detection, Detection]],
) -> None:
    """Not issue 19's acceptance (that is the test above): the files as their README describes them, the intro file
    being 5-30 s of the clip, so the whole of it is the shared run."""
    ours = spans(season(True))
    assert within(ours, README_TRUTH), f"ours {ours}, the README's {README_TRUTH}"
