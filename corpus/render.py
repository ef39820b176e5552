"""Rendering I/O: an EpisodePlan to an H.264/AAC MKV or MP4 with PyAV, frame by frame from numpy.

Speed matters (tests render whole seasons): each shot's photo is prepared once as YUV planes at a size a bit
larger than the frame, a pan is a slice of those planes, and frames go to the encoder as yuv420p so no colour
conversion happens per frame. Zooms use nearest-neighbour index arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from corpus.font import outline, text_mask
from corpus.material import Material
from corpus.plan import EncodeSettings, EpisodePlan
from corpus.timeline import AudioEvent, Shot, TextOverlay

AUDIO_FRAME = 1024  # AAC frame size in samples
Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]


def _even(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited range, what x264 assumes for untagged SD/HD material here."""
    r, g, b = rgb
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    return round(y), round(u), round(v)


# ---- audio -----------------------------------------------------------------------------------------------


def _envelope(e: AudioEvent, n: int, rate: int) -> NDArray[np.float32]:
    pos = e.env_off_s + np.arange(n, dtype=np.float32) / rate
    total = e.env_len_s or e.dur_s
    env = np.ones(n, dtype=np.float32)
    if e.fade_in_s > 0:
        env *= np.clip(pos / e.fade_in_s, 0.0, 1.0)
    if e.fade_out_s > 0:
        env *= np.clip((total - pos) / e.fade_out_s, 0.0, 1.0)
    return env


def mix_audio(events: tuple[AudioEvent, ...], duration_s: float, rate: int, material: Material) -> NDArray[np.float32]:
    out = np.zeros(round(duration_s * rate), dtype=np.float32)
    for e in events:
        a = round(e.at_s * rate)
        if a >= out.size:
            continue
        src = material.audio(e.source, rate)
        s0 = round(e.src_start_s * rate)
        n = min(round(e.dur_s * rate), out.size - a)
        if e.speed != 1.0:  # another take: read the source faster or slower (linear interpolation)
            seg = np.interp(s0 + np.arange(n) * e.speed, np.arange(src.size), src, right=0.0).astype(np.float32)
        else:
            seg = src[s0 : s0 + n]
        if seg.size < n:  # a source shorter than planned (a bad asset): pad with silence
            seg = np.pad(seg, (0, n - seg.size))
        out[a : a + n] += seg * np.float32(10 ** (e.gain_db / 20)) * _envelope(e, n, rate)
    return out


# ---- pictures --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Canvas:
    y: NDArray[np.uint8]
    u: NDArray[np.uint8]
    v: NDArray[np.uint8]
    zoom: float  # the zoom at which one canvas pixel is one frame pixel


def _to_planes(rgb: NDArray[np.uint8]) -> Planes:
    h, w = rgb.shape[:2]
    yuv = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")
    flat: NDArray[np.uint8] = np.asarray(yuv.to_ndarray(), dtype=np.uint8).reshape(-1)
    y = flat[: w * h].reshape(h, w)
    u = flat[w * h : w * h * 5 // 4].reshape(h // 2, w // 2)
    v = flat[w * h * 5 // 4 :].reshape(h // 2, w // 2)
    return y, u, v


def _canvas(shot: Shot, material: Material, width: int, height: int) -> _Canvas:
    zoom = max(shot.start.zoom, shot.end.zoom, 1.0)
    cw, ch = _even(width * zoom + 1), _even(height * zoom + 1)
    rgb = material.picture(shot.photo, cw, ch).astype(np.float32)
    rgb *= np.asarray(shot.tint, dtype=np.float32)
    if shot.wash_amount:
        rgb = rgb * (1 - shot.wash_amount) + np.asarray(shot.wash, dtype=np.float32) * shot.wash_amount
    y, u, v = _to_planes(np.clip(rgb, 0, 255).astype(np.uint8))
    return _Canvas(y, u, v, zoom)


def _crop(canvas: _Canvas, shot: Shot, t_s: float, width: int, height: int, out: Planes) -> None:
    f = shot.framing_at(t_s)
    ch, cw = canvas.y.shape
    scale = canvas.zoom / max(f.zoom, 1.0)  # canvas pixels per frame pixel
    ww, wh = min(cw, width * scale), min(ch, height * scale)
    ox, oy = f.x * (cw - ww), f.y * (ch - wh)
    y, u, v = out
    if abs(scale - 1.0) < 1e-3:  # a pan: plain slicing on even offsets (chroma is half size)
        x0, y0 = _even(ox) if ox >= 2 else 0, _even(oy) if oy >= 2 else 0
        y[:] = canvas.y[y0 : y0 + height, x0 : x0 + width]
        u[:] = canvas.u[y0 // 2 : y0 // 2 + height // 2, x0 // 2 : x0 // 2 + width // 2]
        v[:] = canvas.v[y0 // 2 : y0 // 2 + height // 2, x0 // 2 : x0 // 2 + width // 2]
        return
    rows = np.minimum(ch - 1, (oy + np.arange(height) * scale).astype(np.intp))
    cols = np.minimum(cw - 1, (ox + np.arange(width) * scale).astype(np.intp))
    y[:] = canvas.y[rows[:, None], cols[None, :]]
    rows_c, cols_c = rows[::2] // 2, cols[::2] // 2
    u[:] = canvas.u[rows_c[:, None], cols_c[None, :]]
    v[:] = canvas.v[rows_c[:, None], cols_c[None, :]]


@dataclass(frozen=True)
class _Stamp:
    """A text overlay prepared for one frame size: masks at an even position, colours in YUV."""

    overlay: TextOverlay
    y0: int
    x0: int
    ink: NDArray[np.bool_]
    edge: NDArray[np.bool_]
    ink_c: NDArray[np.bool_]
    color: tuple[int, int, int]
    box: tuple[int, int, int] | None


def _stamp(overlay: TextOverlay, width: int, height: int) -> _Stamp | None:
    text = overlay.text
    scale = max(1, round(overlay.height * height / 7))
    mask = text_mask(text, scale)
    while mask.shape[1] > width * 0.92 and scale > 1:
        scale -= 1
        mask = text_mask(text, scale)
    while mask.shape[1] > width * 0.92 and len(text) > 1:  # too long even at scale 1: truncate
        text = text[:-1]
        mask = text_mask(text, scale)
    pad = max(1, scale // 2) + (2 * scale if overlay.box else 0)
    edge = outline(mask, pad) if not overlay.box else np.zeros((mask.shape[0] + 2 * pad, mask.shape[1] + 2 * pad), bool)
    ink = np.pad(mask, pad)
    # Even size and position, so that the chroma planes line up with the luma.
    h, w = ink.shape[0] + ink.shape[0] % 2, ink.shape[1] + ink.shape[1] % 2
    if h > height or w > width:
        return None
    ink = np.pad(ink, ((0, h - ink.shape[0]), (0, w - ink.shape[1])))
    edge = np.pad(edge, ((0, h - edge.shape[0]), (0, w - edge.shape[1])))
    y0 = min(max(0, _even(overlay.y * height - h / 2)), _even(height - h))
    x0 = min(max(0, _even(overlay.x * width - w / 2)), _even(width - w))
    ink_c = np.asarray(ink.reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3)), dtype=bool)
    box = None
    if overlay.box:
        r, g, b = overlay.color
        box = rgb_to_yuv((r // 3, g // 3, b // 3))
    return _Stamp(overlay, y0, x0, ink, edge, ink_c, rgb_to_yuv(overlay.color), box)


def _draw(stamp: _Stamp, planes: Planes, t_s: float = 0.0) -> None:
    if stamp.overlay.rise_per_s:
        _draw_scrolling(stamp, planes, t_s)
        return
    y, u, v = planes
    h, w = stamp.ink.shape
    py = y[stamp.y0 : stamp.y0 + h, stamp.x0 : stamp.x0 + w]
    pu = u[stamp.y0 // 2 : (stamp.y0 + h) // 2, stamp.x0 // 2 : (stamp.x0 + w) // 2]
    pv = v[stamp.y0 // 2 : (stamp.y0 + h) // 2, stamp.x0 // 2 : (stamp.x0 + w) // 2]
    if stamp.box is not None:
        py[:], pu[:], pv[:] = stamp.box
    py[stamp.edge] = 16
    py[stamp.ink] = stamp.color[0]
    pu[stamp.ink_c] = stamp.color[1]
    pv[stamp.ink_c] = stamp.color[2]


def _draw_scrolling(stamp: _Stamp, planes: Planes, t_s: float) -> None:
    """A scrolling text at its height at `t_s`, cut where it runs off the top or the bottom of the frame."""
    y, u, v = planes
    height = y.shape[0]
    h, w = stamp.ink.shape
    y0 = math.floor((stamp.overlay.y_at(t_s) * height - h / 2) / 2) * 2  # even, may be off the frame
    r0, r1 = max(0, -y0), min(h, height - y0)  # the rows of the stamp inside the frame (even: h, y0 are)
    if r1 <= r0:
        return
    a, x0 = y0 + r0, stamp.x0
    py = y[a : a + r1 - r0, x0 : x0 + w]
    pu = u[a // 2 : (a + r1 - r0) // 2, x0 // 2 : (x0 + w) // 2]
    pv = v[a // 2 : (a + r1 - r0) // 2, x0 // 2 : (x0 + w) // 2]
    if stamp.box is not None:
        py[:], pu[:], pv[:] = stamp.box
    ink_c = stamp.ink_c[r0 // 2 : r1 // 2]
    py[stamp.edge[r0:r1]] = 16
    py[stamp.ink[r0:r1]] = stamp.color[0]
    pu[ink_c] = stamp.color[1]
    pv[ink_c] = stamp.color[2]


def video_frames(plan: EpisodePlan, material: Material) -> Iterator[NDArray[np.uint8]]:
    """yuv420p frames as (height * 3 / 2, width) arrays; the same buffer is reused, copy to keep one."""
    enc = plan.encode
    width, height = enc.width, enc.height
    fps = Fraction(*enc.fps)
    n_frames = round(plan.duration_s * fps)
    shots = sorted(plan.timeline.shots, key=lambda s: s.at_s)
    stamps = [s for s in (_stamp(t, width, height) for t in plan.timeline.texts) if s is not None]
    buf = np.zeros(width * height * 3 // 2, dtype=np.uint8)
    planes: Planes = (
        buf[: width * height].reshape(height, width),
        buf[width * height : width * height * 5 // 4].reshape(height // 2, width // 2),
        buf[width * height * 5 // 4 :].reshape(height // 2, width // 2),
    )
    canvases: dict[Shot, _Canvas] = {}
    k = 0
    for i in range(n_frames):
        t = float(i / fps)
        while k + 1 < len(shots) and shots[k + 1].at_s <= t:
            k += 1
        shot = shots[k] if shots and shots[k].at_s <= t < shots[k].end_s + 0.05 else None
        if shot is None:
            planes[0][:], planes[1][:], planes[2][:] = 16, 128, 128  # black
        else:
            if shot not in canvases:
                canvases.clear()  # shots do not come back, except in recaps (which re-prepare them)
                canvases[shot] = _canvas(shot, material, width, height)
            _crop(canvases[shot], shot, t, width, height, planes)
        for stamp in stamps:
            if stamp.overlay.at_s <= t < stamp.overlay.end_s:
                _draw(stamp, planes, t)
        yield buf.reshape(height * 3 // 2, width)


# ---- encoding --------------------------------------------------------------------------------------------


def _x264_options(enc: EncodeSettings, threads: int) -> dict[str, str]:
    params = f"keyint={enc.keyint}:min-keyint={min(enc.keyint, 25)}:bframes={enc.bframes}"
    options = {"preset": enc.preset, "x264-params": params, "threads": str(threads)}
    if enc.crf is not None:
        options["crf"] = str(enc.crf)
    return options


def render_episode(plan: EpisodePlan, material: Material, path: Path, threads: int = 0) -> None:
    """Encode `plan` to `path` (written under a temporary name, renamed when complete)."""
    enc = plan.encode
    rate = enc.sample_rate
    mix = mix_audio(plan.timeline.audio, plan.duration_s, rate, material)
    # The episode's loudness, but never clipping: a broadcast mix is limited, not distorted.
    peak = float(np.max(np.abs(mix))) if mix.size else 0.0
    mix *= np.float32(min(10 ** (enc.gain_db / 20), 0.99 / max(peak, 1e-9)))
    layout = "mono" if enc.channels == 1 else "stereo"
    samples = np.repeat(mix[None, :], enc.channels, axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    fps = Fraction(*enc.fps)
    with av.open(str(tmp), "w", format="matroska" if enc.container == "mkv" else "mp4") as out:
        vs = out.add_stream("libx264", rate=fps, options=_x264_options(enc, threads))
        vs.width, vs.height, vs.pix_fmt = enc.width, enc.height, "yuv420p"
        if enc.bitrate_kbps is not None:
            vs.bit_rate = enc.bitrate_kbps * 1000
        # The "fast" AAC coder: the default two-loop search costs more than the whole video encode here.
        aus = out.add_stream("aac", rate=rate, layout=layout, options={"aac_coder": "fast"})
        aus.bit_rate = enc.audio_kbps * 1000
        a_pos = 0
        for i, yuv in enumerate(video_frames(plan, material)):
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts, frame.time_base = i, 1 / fps
            out.mux(vs.encode(frame))
            # Keep the streams interleaved: audio up to this video frame's time.
            a_end = min(samples.shape[1], math.ceil((i + 1) / fps * rate))
            a_pos = _encode_audio(out, aus, samples, a_pos, a_end, rate, layout)
        _encode_audio(out, aus, samples, a_pos, samples.shape[1], rate, layout)
        out.mux(vs.encode(None))
        out.mux(aus.encode(None))
    tmp.replace(path)


def _encode_audio(
    out: av.container.OutputContainer,
    stream: av.AudioStream,
    samples: NDArray[np.float32],
    pos: int,
    end: int,
    rate: int,
    layout: str,
) -> int:
    while pos + AUDIO_FRAME <= end or (end == samples.shape[1] and pos < end):
        chunk = np.ascontiguousarray(samples[:, pos : pos + AUDIO_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, pos, Fraction(1, rate)
        out.mux(stream.encode(frame))
        pos += chunk.shape[1]
    return pos
