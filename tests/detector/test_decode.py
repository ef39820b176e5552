import os
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from detector.audio import SAMPLE_RATE, episode_log_mel
from detector.checkpoint import Checkpoint
from detector.decode import FRAME_HEIGHT, FRAME_WIDTH, FrameMode, MediaInfo, _Pictures, decode, decode_seconds, probe
from detector.errors import DecodeError
from detector.features import extract
from detector.fingerprint import audio_fingerprint
from detector.model import IMAGE_CHUNK
from detector.result import MAX_ANALYSED_S
from detector.weights import MODELS
from tests.clips import attach_cover, write_clip, write_tracks


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("media") / "ep.mkv", 12.0)


def test_probe_reads_duration_and_streams(clip: Path):
    info = probe(clip)
    assert info.has_audio and info.has_video
    assert abs(info.duration_s - 12.0) < 0.2
    assert info.analysed_s == 6


def test_decode_gives_the_first_half_at_fixed_rates(clip: Path):
    media = decode(clip)
    assert media.n_seconds == 6
    assert media.audio.shape == (6 * SAMPLE_RATE,) and media.audio.dtype == np.float32
    assert media.frames.shape == (6, FRAME_HEIGHT, FRAME_WIDTH, 3) and media.frames.dtype == np.uint8
    # 440 Hz tone survives the resampling to 16 kHz mono
    spectrum = np.abs(np.fft.rfft(media.audio[SAMPLE_RATE : 2 * SAMPLE_RATE]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2


def test_each_second_gets_the_picture_shown_at_that_second(clip: Path):
    frames = decode(clip).frames
    levels = frames.reshape(6, -1).mean(axis=1)
    assert np.allclose(levels, [20 * k for k in range(6)], atol=4), levels


def test_keyframe_mode_reads_the_same_pictures_when_every_second_has_a_keyframe(clip: Path):
    exact = decode(clip).frames.reshape(6, -1).mean(axis=1)
    cheap = decode(clip, FrameMode.KEYFRAMES).frames.reshape(6, -1).mean(axis=1)
    assert np.allclose(exact, cheap, atol=4)


def test_reference_mode_skips_the_unreferenced_b_frames_and_keeps_the_pictures(tmp_path: Path):
    clip = write_clip(tmp_path / "bframes.mkv", 12.0, bframes=3)
    exact, cheap = decode(clip), decode(clip, FrameMode.REFERENCE)
    assert cheap.video_frames_decoded < 0.5 * exact.video_frames_decoded
    levels = cheap.frames.reshape(6, -1).mean(axis=1)
    assert np.allclose(levels, exact.frames.reshape(6, -1).mean(axis=1), atol=4), levels


def test_a_recording_longer_than_an_hour_is_analysed_up_to_the_cap():
    info = MediaInfo(Path("six-hours.mkv"), 6 * 3600.0, has_audio=True, has_video=True)
    assert info.analysed_s == MAX_ANALYSED_S == 1800
    assert MediaInfo(Path("ep.mkv"), 3600.0, True, True).analysed_s == 1800
    assert MediaInfo(Path("ep.mkv"), 2640.0, True, True).analysed_s == 1320  # a 44-minute episode: its first half


def test_features_from_the_stream_equal_those_from_the_whole_waveform(clip: Path):
    media = decode(clip)
    features = extract(clip)
    assert torch.equal(features.mel, episode_log_mel(media.audio, media.n_seconds))
    assert np.array_equal(features.audio_codes, audio_fingerprint(media.audio))
    assert np.array_equal(features.frames.numpy(), media.frames)


def test_pictures_embedded_as_they_are_decoded_equal_the_kept_pictures_embedded(tmp_path: Path):
    # 140 s analysed at one picture a second: two whole chunks of IMAGE_CHUNK and a part of one.
    clip = write_clip(tmp_path / "long.mkv", 280.0, fps=1)
    net = Checkpoint.load(MODELS["seed"]).network(shared=True)
    with torch.inference_mode():
        kept = extract(clip)
        embedded = extract(clip, embedders=[lambda pictures: net.embed_images(pictures.unsqueeze(0))[0]])
        assert kept.n_seconds == 140 > 2 * IMAGE_CHUNK and len(embedded.frames) == 0  # never held
        (pictures,) = embedded.picture_embeddings
        assert torch.equal(pictures, net.embed_images(kept.frames.unsqueeze(0))[0])
    assert np.array_equal(embedded.fingerprints().picture, kept.fingerprints().picture)
    assert torch.equal(embedded.mel, kept.mel)


def test_a_picture_sink_gets_the_last_picture_over_a_short_tail_and_black_without_one():
    got: list[np.ndarray] = []

    class Sink:
        def add(self, picture: np.ndarray) -> None:
            got.append(picture.copy())

    first, last = (np.full((FRAME_HEIGHT, FRAME_WIDTH, 3), level, np.uint8) for level in (10, 20))
    pictures = _Pictures(4, Sink())
    pictures.extend([first, last])
    assert len(pictures.finish()) == 0 and [int(p[0, 0, 0]) for p in got] == [10, 20, 20, 20]
    got.clear()
    _Pictures(2, Sink()).finish()
    assert [int(p.max()) for p in got] == [0, 0]  # as the kept array's zeros


def test_max_seconds_limits_the_span(clip: Path):
    assert decode(clip, max_seconds=3).n_seconds == 3


@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_audio_less_file_is_refused(tmp_path: Path, container: str):
    path = write_clip(tmp_path / f"silent.{container}", 4.0, audio=False)
    with pytest.raises(DecodeError, match="no audio stream") as err:
        decode(path)
    assert err.value.path == path


def test_video_less_file_is_refused(tmp_path: Path):
    path = write_clip(tmp_path / "radio.mkv", 4.0, video=False)
    with pytest.raises(DecodeError, match="no video stream"):
        decode(path)


def test_zero_byte_file_is_refused(tmp_path: Path):
    path = tmp_path / "empty.mkv"
    path.touch()
    with pytest.raises(DecodeError, match="empty file"):
        decode(path)


def test_missing_file_is_refused(tmp_path: Path):
    with pytest.raises(DecodeError, match="file not found"):
        decode(tmp_path / "gone.mkv")


def test_garbage_is_refused(tmp_path: Path):
    path = tmp_path / "garbage.mkv"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(DecodeError, match=r"not a readable media file|unknown duration|no (audio|video) stream"):
        decode(path)


@pytest.mark.parametrize("container", ["mkv", "mp4"])
@pytest.mark.parametrize("kept", [0.25, 0.6])
def test_half_copied_file_is_refused_and_named(tmp_path: Path, container: str, kept: float):
    full = write_clip(tmp_path / f"full.{container}", 30.0)
    half = tmp_path / f"half.{container}"
    half.write_bytes(full.read_bytes()[: int(full.stat().st_size * kept)])
    with pytest.raises(DecodeError, match=r"truncated|still being copied") as err:
        decode(half)
    assert err.value.path == half
    assert str(half) in str(err.value)


@pytest.mark.parametrize("start_s", [1.4, 36_000.0, 95_438.0], ids=["broadcast", "at-10-h", "wrapping"])
def test_a_transport_stream_is_read_from_its_first_timestamp(tmp_path: Path, start_s: float):
    """MPEG-TS recordings start where the broadcaster's clock was; at 95,443.7 s the 33-bit timestamps wrap."""
    path = write_tracks(tmp_path / "rec.ts", 12, [("eng", True)], start_s=start_s)
    media = decode(path)
    assert media.n_seconds == 6
    loudness = np.sqrt(np.mean(media.audio.reshape(6, SAMPLE_RATE) ** 2, axis=1))
    assert (loudness > 0.15).all()  # the tone, every second: not silence padded in for a misplaced start
    assert np.diff(media.frames[:, 0, 0, 0].astype(int)).min() >= 0  # the picture brightens second by second
    assert int(media.frames[5, 0, 0, 0]) > 60


def test_the_track_with_the_sound_is_decoded_when_the_default_is_silent(tmp_path: Path):
    path = write_tracks(tmp_path / "dub.mkv", 8, [("eng", False), ("jpn", True)])
    assert np.sqrt(np.mean(decode(path).audio ** 2)) > 0.15
    assert np.sqrt(np.mean(decode(path, languages=["eng"]).audio ** 2)) > 0.15  # preferred, but silent


@pytest.mark.skipif(shutil.which("mkvpropedit") is None, reason="needs mkvpropedit (Debian: mkvtoolnix)")
def test_cover_art_is_not_taken_for_the_picture(tmp_path: Path):
    path = attach_cover(write_clip(tmp_path / "e.mkv", 6.0), tmp_path)
    assert (decode(path).frames[:, 0, 0, 0] == decode(write_clip(tmp_path / "plain.mkv", 6.0)).frames[:, 0, 0, 0]).all()


def test_what_is_not_a_media_file_is_named(tmp_path: Path):
    fifo = tmp_path / "pipe.mkv"
    os.mkfifo(fifo)
    with pytest.raises(DecodeError, match=r"not a regular file \(a named pipe\)"):
        decode(fifo)  # would block forever if opened
    link = tmp_path / "link.mkv"
    link.symlink_to(tmp_path / "moved-away.mkv")
    with pytest.raises(DecodeError, match="a link to a file that is not there"):
        decode(link)
    page = tmp_path / "page.mkv"
    page.write_text("<!DOCTYPE html><html><body>Not found</body></html>\n" * 20)
    with pytest.raises(DecodeError, match="not a readable media file"):
        decode(page)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_says_so(tmp_path: Path):
    path = write_clip(tmp_path / "private.mkv", 2.0)
    path.chmod(0)
    with pytest.raises(DecodeError, match="no permission to read it"):
        decode(path)


@pytest.mark.parametrize(("codec", "layout", "rate"), [("aac", "7.1", 48000), ("pcm_s16le", "stereo", 44100)])
def test_the_sound_batched_for_the_resampler_is_what_a_call_per_frame_gives(
    tmp_path: Path, codec: str, layout: str, rate: int
) -> None:
    # Planar 8-channel frames (PyAV lists one plane too many for them) and packed 16-bit ones.
    path = tmp_path / "a.mkv"
    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=5, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream(codec, rate=rate, layout=layout)
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 5)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        channels = len(av.AudioLayout(layout).channels)
        sound = (0.2 * rng.standard_normal((channels, 6 * rate))).astype(np.float32)
        for start in range(0, sound.shape[1], 1024):
            piece = sound[:, start : start + 1024]  # interleaved: from_ndarray fails on 8 planes too
            chunk = av.AudioFrame.from_ndarray(piece.T.reshape(1, -1), format="flt", layout=layout)
            chunk.sample_rate, chunk.pts = rate, start
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))
    batched = decode(path, max_seconds=None, pictures=False).audio
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        per_frame = np.concatenate(
            [o.to_ndarray().reshape(-1) for f in container.decode(audio=0) for o in resampler.resample(f)]
        )
    n = min(len(batched), len(per_frame))
    assert n >= 2.9 * SAMPLE_RATE
    assert np.array_equal(batched[:n], per_frame[:n])


@pytest.mark.parametrize("mode", [FrameMode.ALL, FrameMode.REFERENCE])
def test_the_pictures_of_a_window_are_those_of_the_whole_span(season_media: list[Path], mode: FrameMode):
    """Decoded from the key frame before it, a window gets the very pictures the span's decode gives it."""
    episode = season_media[0]
    span = decode(episode, mode).frames
    for first, end in [(0, 7), (13, 29), (len(span) - 5, len(span))]:
        window = decode_seconds(episode, first, end, mode)
        assert window.shape == (end - first, FRAME_HEIGHT, FRAME_WIDTH, 3)
        assert np.array_equal(window, span[first:end]), (first, end)
