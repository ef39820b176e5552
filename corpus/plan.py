"""Pure composition: from a catalog, a profile and a seed to shows and episode plans (no media I/O here).

An episode is [recap][cold open][intro][body]; the intro is the same timeline (theme excerpt + title
sequence) in every episode of a season that has one, and always ends in the first half of the episode.

With a profile's `segments` on, the body ends before an ending, in the second half of the episode:
[body][preview?][credits?][post-credits scene?][preview?]. The credits' music (or silence) and look are the
season's; a preview is cut from the next episode's body (so seasons are composed in two passes); and the body holds
hard negatives (black transitions, act cards, a music-only montage, the theme reprised under the final scene).
Those plans label the recap, credits and preview (EpisodePlan.segments); every new draw comes from a stream of its
own, so that profiles without `segments` give the plans they always gave.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from corpus.catalog import NOISE_PREFIX, NOISE_TRACK_S, Catalog, Line, Split, Track, stable_hash
from corpus.profile import IntroClass, Profile
from corpus.timeline import AudioEvent, Framing, Shot, TextOverlay, Timeline
from corpus.words import credit_name, sentence, show_names
from detector.labels import IntroSpan, SegmentSpan

Rng = np.random.Generator
SEASON = "Season 01"
NOISE_BEDS_PER_SHOW = 2


@dataclass(frozen=True)
class Opening:
    """An intro: theme excerpt + title sequence, relative to its own start."""

    timeline: Timeline
    dur_s: float
    track: str
    tag: str  # intro class tag ("short_intro", "long_intro" or "")
    black: bool = False  # black and silence before its first shot and after its last (part of the intro)


@dataclass(frozen=True)
class Show:
    name: str
    openings: tuple[Opening, ...]  # two when the season changes its opening half-way
    voices: tuple[str, ...]
    score: tuple[Track, ...]
    photos: tuple[str, ...]
    noise: tuple[str, ...]
    wash: tuple[int, int, int]  # the show's colour grade


@dataclass(frozen=True)
class EncodeSettings:
    container: str  # "mkv" | "mp4"
    width: int
    height: int
    fps: tuple[int, int]  # numerator, denominator (24000/1001 = 23.976)
    sample_rate: int
    channels: int
    preset: str
    crf: int | None
    bitrate_kbps: int | None
    keyint: int
    bframes: int
    audio_kbps: int
    gain_db: float  # overall loudness of the episode's mix


@dataclass(frozen=True)
class EpisodePlan:
    show: str
    season: str
    number: int
    duration_s: float
    timeline: Timeline
    body_start_s: float
    intro: IntroSpan | None
    tags: tuple[str, ...]
    encode: EncodeSettings
    body_end_s: float | None = None  # where the story ends and the ending starts (None: the end of the episode)
    # The recap, credits and preview (profiles with `segments` on; None: not labelled).
    segments: tuple[SegmentSpan, ...] | None = None

    @property
    def story_end_s(self) -> float:
        return self.duration_s if self.body_end_s is None else self.body_end_s

    @property
    def relpath(self) -> str:
        return f"{self.show}/{self.season}/{self.show} S01E{self.number:02d}.{self.encode.container}"


def rng_for(*keys: int | str) -> Rng:
    """An independent, reproducible stream for one thing (a show, an episode) from the corpus seed."""
    return np.random.default_rng([k if isinstance(k, int) else stable_hash(k) % 2**32 for k in keys])


def _u(rng: Rng, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1]))


# ---- shows -----------------------------------------------------------------------------------------------


def compose_shows(catalog: Catalog, profile: Profile, split: Split, n_shows: int, seed: int) -> list[Show]:
    """Shows with distinct names and distinct theme tracks; voices, score and photos come from `catalog`."""
    rng = rng_for(seed, split, "shows")
    names = show_names(split)
    picked = [names[int(i)] for i in rng.choice(len(names), size=n_shows, replace=False)]
    classes = _intro_classes(profile, n_shows, rng)
    themes = [catalog.music[int(i)] for i in rng.permutation(len(catalog.music))]
    shows = []
    for name, cls in zip(picked, classes, strict=True):
        srng = rng_for(seed, split, name)
        n_open = 2 if srng.random() < profile.p_two_openings else 1
        dur_s = _u(srng, cls.range_s)
        tracks = []
        for _ in range(n_open):
            if not themes:  # more shows than tracks: themes start repeating (only in tiny catalogs)
                themes = [catalog.music[int(i)] for i in rng.permutation(len(catalog.music))]
            # The first unused track long enough for this intro (the last one when none is).
            fits = [i for i, t in enumerate(themes) if t.duration_s >= dur_s + 6.0]
            tracks.append(themes.pop(fits[0] if fits else -1))
        show = _compose_show(catalog, name, tracks, dur_s, srng)
        if profile.p_black_around_intro:  # its own stream: the other profiles' shows stay as they were
            brng = rng_for(seed, split, f"{name}/black")
            if brng.random() < profile.p_black_around_intro:
                lead_in, lead_out = (profile.black_lead_in_s, profile.black_lead_out_s)
                framed = tuple(_in_black(o, _u(brng, lead_in), _u(brng, lead_out)) for o in show.openings)
                show = replace(show, openings=framed)
        shows.append(show)
    return shows


def _in_black(opening: Opening, lead_in_s: float, lead_out_s: float) -> Opening:
    """The title sequence after `lead_in_s` of black and silence and before `lead_out_s` more; its theme fades out
    over its last shot, as before."""
    dur_s = round(lead_in_s + opening.dur_s + lead_out_s, 2)
    timeline = opening.timeline.shifted(round(lead_in_s, 2))
    return Opening(timeline, dur_s, opening.track, intro_tag(dur_s), black=True)


def _intro_classes(profile: Profile, n_shows: int, rng: Rng) -> list[IntroClass]:
    """Intro length classes in proportion to their weights (largest remainder), shuffled: even a corpus of
    six shows gets short, ordinary and long intros instead of whatever an independent draw gives."""
    counts = _quota([c.weight for c in profile.intro_classes], n_shows)
    classes = [c for c, n in zip(profile.intro_classes, counts, strict=True) for _ in range(int(n))]
    return [classes[int(i)] for i in rng.permutation(len(classes))]


def _quota(weights: list[float], n: int) -> list[int]:
    """`n` split in proportion to `weights` (largest remainder)."""
    w = np.array(weights, dtype=float)
    quota = w / w.sum() * n
    counts = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - counts))[: n - int(counts.sum())]:
        counts[i] += 1
    return [int(c) for c in counts]


def intro_tag(dur_s: float) -> str:
    """The length class of an intro from its actual length (a theme track can cut a planned one short)."""
    return "short_intro" if dur_s <= 15.0 else "long_intro" if dur_s >= 60.0 else ""


def _compose_show(catalog: Catalog, name: str, themes: list[Track], intro_s: float, rng: Rng) -> Show:
    theme_ids = {t.id for t in themes}
    # Score from the theme's album/composer: the hardest near-miss negatives for the detector.
    same = [t for t in catalog.music if t.group == themes[0].group and t.id not in theme_ids]
    other = [t for t in catalog.music if t.group != themes[0].group and t.id not in theme_ids]
    n_score = int(rng.integers(3, 6))
    score = [same[int(i)] for i in rng.permutation(len(same))[:n_score]]
    score += [other[int(i)] for i in rng.permutation(len(other))[: max(0, n_score - len(score))]]
    voices = list(catalog.voices())
    voice_pick = tuple(voices[int(i)] for i in rng.permutation(len(voices))[: int(rng.integers(2, 4))])
    photos = list(catalog.photos)
    order = [photos[int(i)] for i in rng.permutation(len(photos))]
    wash = tuple(int(c) for c in rng.integers(0, 256, size=3))
    openings = []
    for k, track in enumerate(themes):
        title_photos = order[k * 3 : k * 3 + 3] or order[:1]
        # A second opening is a different cut: its length varies a little around the first one's.
        dur_s = intro_s if k == 0 else intro_s * _u(rng, (0.85, 1.15))
        dur_s = min(dur_s, max(6.0, track.duration_s - 4.0))
        openings.append(_compose_opening(name, track, dur_s, title_photos, wash, rng))  # type: ignore[arg-type]
    body_photos = order[len(themes) * 3 :] or order
    noise = tuple(f"{NOISE_PREFIX}{int(rng.integers(0, 10_000))}" for _ in range(NOISE_BEDS_PER_SHOW))
    return Show(
        name=name,
        openings=tuple(openings),
        voices=voice_pick,
        score=tuple(score),
        photos=tuple(body_photos[: int(rng.integers(6, 13))]),
        noise=noise,
        wash=wash,  # type: ignore[arg-type]
    )


def _theme_start(track: Track, dur_s: float, rng: Rng) -> float:
    """Cut the theme from a loud passage (when loudness is known): intros are never near-silent."""
    slack = max(0.0, track.duration_s - dur_s - 1.0)
    candidates = rng.uniform(0.0, slack, size=12) if slack > 0 else np.zeros(1)
    if not track.loudness_db:
        return float(candidates[0])
    loud = np.asarray(track.loudness_db)

    def score(start: float) -> float:
        span = loud[int(start) : int(start + dur_s) + 1]
        return float(np.percentile(span, 20)) if span.size else -120.0

    return float(max(candidates, key=score))


def _compose_opening(
    show: str,
    track: Track,
    dur_s: float,
    photos: list[str],
    wash: tuple[int, int, int],
    rng: Rng,
) -> Opening:
    dur_s = round(dur_s, 2)
    theme = AudioEvent(
        source=track.id,
        at_s=0.0,
        src_start_s=round(_theme_start(track, dur_s, rng), 3),
        dur_s=dur_s,
        gain_db=_u(rng, (-4.0, 0.0)),
        fade_in_s=_u(rng, (0.05, 1.5)),
        fade_out_s=_u(rng, (0.8, 3.0)),
    )
    n_shots = int(np.clip(round(dur_s / _u(rng, (2.5, 7.0))), 1, 16))
    cuts = _split_evenly(dur_s, n_shots, rng, min_s=1.5)
    shots: list[Shot] = []
    texts: list[TextOverlay] = []
    color = tuple(int(c) for c in np.clip(np.asarray(wash) + 90, 0, 255))
    for i, (a, b) in enumerate(cuts):
        shots.append(_pan_shot(photos[i % len(photos)], a, b - a, rng, wash=wash, wash_amount=0.35))
        if 0 < i < len(cuts) - 1 and rng.random() < 0.6:  # opening credits over the middle shots
            texts.append(TextOverlay(credit_name(rng), a + 0.3, b - a - 0.6, "subtitle", 0.5, 0.8, 0.05))
    # The show's name closes the title sequence, like a title card.
    a, _ = cuts[-1]
    card_s = min(dur_s - a, 4.0)
    texts.append(
        TextOverlay(show.upper(), dur_s - card_s, card_s, "title", 0.5, 0.45, 0.11, color)  # type: ignore[arg-type]
    )
    return Opening(Timeline((theme,), tuple(shots), tuple(texts)), dur_s, track.id, intro_tag(dur_s))


def _split_evenly(total_s: float, n: int, rng: Rng, min_s: float) -> list[tuple[float, float]]:
    """`n` consecutive pieces covering [0, total_s), each at least about `min_s`."""
    if n <= 1 or total_s < n * min_s:
        return [(0.0, total_s)]
    weights = rng.uniform(0.6, 1.4, size=n)
    edges = np.concatenate([[0.0], np.cumsum(weights / weights.sum() * total_s)])
    edges[-1] = total_s
    return [(float(edges[i]), float(edges[i + 1])) for i in range(n)]


def _pan_shot(
    photo: str,
    at_s: float,
    dur_s: float,
    rng: Rng,
    *,
    zoom: bool = False,
    wash: tuple[int, int, int] = (0, 0, 0),
    wash_amount: float = 0.0,
) -> Shot:
    z0 = _u(rng, (1.05, 1.3))
    z1 = _u(rng, (1.05, 1.3)) if zoom else z0
    start = Framing(float(rng.random()), float(rng.random()), z0)
    end = Framing(float(rng.random()), float(rng.random()), z1)
    tint = tuple(float(v) for v in rng.uniform(0.85, 1.15, size=3))
    return Shot(photo, at_s, dur_s, start, end, tint, wash, wash_amount)  # type: ignore[arg-type]


# ---- scenes ----------------------------------------------------------------------------------------------


def _noise_bed(show: Show, at_s: float, dur_s: float, gain_db: float, rng: Rng) -> list[AudioEvent]:
    """Room tone under a scene, chained from NOISE_TRACK_S-long beds with short crossfades."""
    events = []
    t = at_s
    end = at_s + dur_s
    while t < end - 1e-6:
        piece = min(end - t, NOISE_TRACK_S - 1.0)
        src = show.noise[int(rng.integers(0, len(show.noise)))]
        start = _u(rng, (0.0, NOISE_TRACK_S - piece))
        events.append(AudioEvent(src, t, start, piece + (0.3 if t + piece < end else 0.0), gain_db, 0.3, 0.3))
        t += piece
    return events


def _shots(show: Show, at_s: float, dur_s: float, cut_s: tuple[float, float], rng: Rng) -> list[Shot]:
    shots = []
    t = at_s
    end = at_s + dur_s
    while t < end - 1e-6:
        piece = _u(rng, cut_s)
        if end - t - piece < cut_s[0] * 0.6:
            piece = end - t
        photo = show.photos[int(rng.integers(0, len(show.photos)))]
        shots.append(_pan_shot(photo, t, piece, rng, zoom=rng.random() < 0.3, wash=show.wash, wash_amount=0.1))
        t += piece
    return shots


def _captions(shots: list[Shot], rng: Rng) -> list[TextOverlay]:
    """On-screen text in the body: subtitles and signs, so that text alone never means "intro"."""
    texts = []
    for shot in shots:
        r = rng.random()
        if r < 0.15 and shot.dur_s > 2.5:
            dur = _u(rng, (2.0, min(5.0, shot.dur_s)))
            texts.append(TextOverlay(sentence(rng), shot.at_s + 0.2, dur, "caption", 0.5, 0.88, 0.045))
        elif r < 0.25:
            color = tuple(int(c) for c in rng.integers(0, 256, size=3))
            x, y = _u(rng, (0.25, 0.75)), _u(rng, (0.15, 0.6))
            text = sentence(rng, words=(1, 3)).upper()
            texts.append(TextOverlay(text, shot.at_s, shot.dur_s, "sign", x, y, 0.07, color, box=True))  # type: ignore[arg-type]
    return texts


def _dialogue(
    show: Show, lines: dict[str, tuple[Line, ...]], at_s: float, dur_s: float, rng: Rng, takes: bool = False
) -> list[AudioEvent]:
    """takes: each line its own take (Profile.takes), drawn from no random stream, so that the plans of profiles
    without takes stay as they were."""
    events = []
    t = at_s + _u(rng, (0.2, 1.5))
    end = at_s + dur_s
    voice_gain = {v: _u(rng, (-3.0, 2.0)) for v in show.voices}
    speaker = show.voices[0]
    while t < end - 0.5:
        if rng.random() < 0.7:  # mostly alternate speakers, sometimes one speaker goes on
            speaker = show.voices[(show.voices.index(speaker) + 1) % len(show.voices)]
        pool = lines[speaker]
        line = pool[int(rng.integers(0, len(pool)))]
        dur = min(line.duration_s, end - t)
        speed = _take(show.name, line.id, t) if takes else 1.0
        events.append(
            AudioEvent(
                line.id, t, 0.0, dur, voice_gain[speaker], 0.01, 0.05 if dur < line.duration_s else 0.01, speed=speed
            )
        )
        pause = _u(rng, (0.15, 1.2)) if rng.random() < 0.85 else _u(rng, (1.5, 3.5))
        t += dur + pause
    return events


MIN_TAKE = 0.015  # a take is at least this much faster or slower than another: 2 % of pitch is ~1 landmark bin
MAX_TAKE = 0.04


def _take(show: str, line: str, at_s: float) -> float:
    """The speed of one take of a line (AudioEvent.speed): 1 +- MIN_TAKE..MAX_TAKE, from where it is spoken."""
    u = stable_hash(f"take|{show}|{line}|{at_s:.3f}") / 2**64
    size = MIN_TAKE + (MAX_TAKE - MIN_TAKE) * abs(2 * u - 1)
    return 1 + size if u >= 0.5 else 1 - size


def compose_scene(
    show: Show, lines: dict[str, tuple[Line, ...]], profile: Profile, at_s: float, dur_s: float, rng: Rng
) -> tuple[Timeline, set[str]]:
    """One body scene: dialogue over room tone (sometimes with score under it), or a music-only scene."""
    tags: set[str] = set()
    audio: list[AudioEvent] = []
    if rng.random() < 0.18 and show.score:
        track = show.score[int(rng.integers(0, len(show.score)))]
        length = min(dur_s, track.duration_s - 1.0)
        start = _u(rng, (0.0, max(0.0, track.duration_s - length)))
        fade = min(2.0, length / 4)
        audio.append(AudioEvent(track.id, at_s, start, length, _u(rng, (-5.0, 0.0)), fade, fade))
        audio += _noise_bed(show, at_s, dur_s, _u(rng, (-42.0, -34.0)), rng)
        tags.add("music_scene")
    else:
        audio += _dialogue(show, lines, at_s, dur_s, rng, profile.takes)
        audio += _noise_bed(show, at_s, dur_s, _u(rng, (-38.0, -28.0)), rng)
        if rng.random() < 0.4 and show.score:
            track = show.score[int(rng.integers(0, len(show.score)))]
            length = min(dur_s, track.duration_s - 1.0)
            start = _u(rng, (0.0, max(0.0, track.duration_s - length)))
            audio.append(AudioEvent(track.id, at_s, start, length, _u(rng, (-22.0, -12.0)), 2.0, 2.0))
            tags.add("score_under_dialogue")
    shots = _shots(show, at_s, dur_s, (3.0, 15.0), rng)
    texts = _captions(shots, rng)
    if texts:
        tags.add("captions")
    return Timeline(tuple(audio), tuple(shots), tuple(texts)), tags


def _scenes(
    show: Show, lines: dict[str, tuple[Line, ...]], profile: Profile, at_s: float, end_s: float, rng: Rng
) -> tuple[Timeline, set[str]]:
    timeline = Timeline()
    tags: set[str] = set()
    t = at_s
    while t < end_s - 1e-6:
        dur = _u(rng, profile.scene_s)
        if end_s - t - dur < profile.scene_s[0] * 0.5:
            dur = end_s - t
        scene, scene_tags = compose_scene(show, lines, profile, t, dur, rng)
        timeline += scene
        tags |= scene_tags
        t += dur
    return timeline, tags


# ---- episodes --------------------------------------------------------------------------------------------


def compose_encode(profile: Profile, container: str, rng: Rng) -> EncodeSettings:
    width, height = profile.resolutions[int(rng.integers(0, len(profile.resolutions)))]
    fps = [(24000, 1001), (24, 1), (25, 1), (30000, 1001), (30, 1)][int(rng.integers(0, 5))]
    preset = profile.presets[int(rng.integers(0, len(profile.presets)))]
    use_crf = rng.random() < 0.7
    if container == "mixed":
        container = "mkv" if rng.random() < 0.6 else "mp4"
    return EncodeSettings(
        container=container,
        width=width,
        height=height,
        fps=fps,
        sample_rate=44100 if rng.random() < 0.4 else 48000,
        channels=1 if rng.random() < 0.25 else 2,
        preset=preset,
        crf=int(_u(rng, profile.crf)) if use_crf else None,
        bitrate_kbps=None if use_crf else int(_u(rng, profile.bitrate_kbps)),
        keyint=int(_u(rng, profile.keyint)),
        bframes=0 if preset == "ultrafast" else int(rng.integers(0, 4)),
        audio_kbps=int(rng.choice([96, 128, 160, 192])),
        gain_db=_u(rng, (-9.0, 2.0)),
    )


def _recap(show: Show, earlier: list[EpisodePlan], total_s: float, rng: Rng) -> tuple[Timeline, float]:
    """'Previously on': cuts of earlier episodes' bodies, which therefore repeat across the season too; and where
    its clips end (up to 1 s before total_s: black and silence after them)."""
    timeline = Timeline()
    t = 0.0
    while t < total_s - 1.0:
        src = earlier[-1 - int(rng.integers(0, min(3, len(earlier))))]
        clip = min(_u(rng, (2.5, 8.0)), total_s - t)
        a = _u(rng, (src.body_start_s, src.story_end_s - clip))
        timeline += src.timeline.window(a, a + clip).shifted(t)
        t += clip
    label = TextOverlay(f"PREVIOUSLY ON {show.name.upper()}", 0.2, min(2.5, total_s - 0.2), "caption", 0.5, 0.1, 0.05)
    return timeline + Timeline(texts=(label,)), round(t, 3)


def compose_episode(
    show: Show,
    lines: dict[str, tuple[Line, ...]],
    profile: Profile,
    number: int,
    n_episodes: int,
    earlier: list[EpisodePlan],
    no_intro: bool,
    container: str,
    rng: Rng,
    credits: SeasonCredits | None = None,
    ending_rng: Rng | None = None,
) -> EpisodePlan:
    """`ending_rng` (profiles with `segments` on): the episode's own stream for its ending and hard negatives."""
    duration = round(_u(rng, profile.episode_s), 1)
    half = len(show.openings) > 1 and number > n_episodes // 2
    opening = show.openings[1 if half else 0]
    tags: set[str] = set()
    if len(show.openings) > 1:
        tags |= {"two_openings"} | ({"opening_b"} if half else set())
    recap_s = _u(rng, profile.recap_s) if earlier and rng.random() < profile.p_recap else 0.0
    cold_s = _u(rng, profile.cold_open_s) if rng.random() < profile.p_cold_open else 0.0
    if not no_intro:
        # The intro must end in the first half: shorten the cold open, then drop the recap, when needed.
        room = duration / 2 - opening.dur_s
        cold_s = min(cold_s, max(0.0, room - recap_s))
        if cold_s < 4.0:
            cold_s = 0.0
        if recap_s + cold_s > room:
            recap_s = 0.0
    recap_s, cold_s = round(recap_s, 2), round(cold_s, 2)
    timeline = Timeline()
    recap_end_s = recap_s
    if recap_s:
        recap, clips_end_s = _recap(show, earlier, recap_s, rng)
        timeline += recap
        tags.add("recap")
        if not cold_s and not no_intro:
            # Black between the recap's last clip and the intro is the intro's (docs/design.md, "An intro's ends").
            recap_end_s = clips_end_s
    if cold_s:
        cold, _ = _scenes(show, lines, profile, recap_s, recap_s + cold_s, rng)
        timeline += cold
        tags.add("cold_open")
    intro = None
    body_start = recap_s + cold_s
    if no_intro:
        tags.add("pilot" if number == 1 else "special")
        tags.add("no_intro")
    else:
        timeline += opening.timeline.shifted(body_start)
        intro = IntroSpan(body_start if cold_s else recap_end_s, round(body_start + opening.dur_s, 3))
        body_start = intro.end_s
        if opening.tag:
            tags.add(opening.tag)
        if opening.black:
            tags.add("intro_in_black")
        if intro.start_s == 0.0:
            tags.add("intro_at_start")
    body_end: float | None = None
    segments: tuple[SegmentSpan, ...] | None = None
    if ending_rng is None:
        body, body_tags = _scenes(show, lines, profile, body_start, duration, rng)
    else:
        ending = _Ending.draw(profile, credits, number, n_episodes, body_start, duration, ending_rng)
        body, body_tags, segments = _body_and_ending(show, lines, profile, opening, credits, ending, rng, ending_rng)
        body_end = ending.body_end_s
        if recap_s:
            segments = (SegmentSpan("recap", 0.0, recap_end_s), *segments)
    return EpisodePlan(
        show=show.name,
        season=SEASON,
        number=number,
        duration_s=duration,
        timeline=timeline + body,
        body_start_s=body_start,
        intro=intro,
        tags=tuple(sorted(tags | body_tags)),
        encode=compose_encode(profile, container, rng),
        body_end_s=body_end,
        segments=segments,
    )


def compose_season(
    show: Show,
    catalog: Catalog,
    profile: Profile,
    n_episodes: int,
    seed: int,
    container: str,
    credits_style: CreditsStyle | None = None,
) -> list[EpisodePlan]:
    """`credits_style` (profiles with `segments` on): the show's kind of credits; None: drawn for this show."""
    rng = rng_for(seed, show.name, "season")
    lines = {v: ls for v, ls in catalog.lines_by_voice().items() if v in show.voices}
    # Pilots and specials have no intro: p_no_intro of the episodes on average, but at most a quarter of
    # a season, so that the intro still repeats across it. A pilot (episode 1) is the most common case.
    expected = profile.p_no_intro * n_episodes
    count = min(n_episodes // 4, int(expected) + int(rng.random() < expected - int(expected)))
    others = list(range(2, n_episodes + 1))
    rng.shuffle(others)
    order = [1, *others] if rng.random() < 0.4 else [*others, 1]
    no_intro = set(order[:count])
    credits = None
    if profile.segments:
        credits = compose_credits(show, catalog, profile, credits_style, rng_for(seed, show.name, "credits"))
    episodes: list[EpisodePlan] = []
    for k in range(1, n_episodes + 1):
        erng = rng_for(seed, show.name, k)
        xrng = rng_for(seed, show.name, "ending", k) if profile.segments else None
        episodes.append(
            compose_episode(
                show, lines, profile, k, n_episodes, episodes, k in no_intro, container, erng, credits, xrng
            )
        )
    if profile.segments:  # the second pass: each preview from the next episode's body
        episodes = [_with_preview(show, ep, nxt, seed) for ep, nxt in zip(episodes, [*episodes[1:], None], strict=True)]
    return episodes


# ---- endings: credits, post-credits scenes, previews and hard negatives (profiles with `segments` on) ----------

MIN_BODY_S = 30.0  # story kept between the intro (or the episode's start) and the ending, hard negatives aside
MIN_CREDITS_S = 10.0
CREDIT_KINDS = ("music", "theme", "silent")
_ROLES = (
    "STARRING",
    "GUEST STARRING",
    "WRITTEN BY",
    "DIRECTED BY",
    "PRODUCED BY",
    "EXECUTIVE PRODUCER",
    "MUSIC BY",
    "EDITED BY",
    "CASTING BY",
    "PHOTOGRAPHY",
)
_ACT_CARDS = (
    "ACT ONE",
    "ACT TWO",
    "ACT THREE",
    "PART TWO",
    "LATER THAT NIGHT",
    "THE NEXT MORNING",
    "THREE DAYS LATER",
    "MEANWHILE",
)


@dataclass(frozen=True)
class SeasonCredits:
    """A season's end credits: the same music (or silence) and the same look in every episode that has them."""

    kind: str  # a key of CREDIT_KINDS: a catalog track, the show's theme at another excerpt, or no music
    cue: AudioEvent | None  # the music from its first second (at_s 0), long enough for any episode's credits
    length_s: float  # the season's credits length; each episode's is within 10 % of it
    over_scene: bool  # over the last scene's shots (else on black)
    scroll: bool  # the names scroll up (else cards)
    rise_per_s: float  # scrolling speed, frame heights per second
    room_tone_db: float | None  # silent credits: room tone at this level, or None: digital silence
    color: tuple[int, int, int]

    @property
    def tags(self) -> set[str]:
        tags = {"credits_scene" if self.over_scene else "credits_black"}
        tags.add("credits_scroll" if self.scroll else "credits_cards")
        return tags | ({f"credits_{self.kind}"} if self.kind != "music" else set())


@dataclass(frozen=True)
class CreditsStyle:
    kind: str  # a key of CREDIT_KINDS
    over_scene: bool
    scroll: bool


def credit_styles(profile: Profile, n_shows: int, rng: Rng) -> list[CreditsStyle]:
    """The shows' kinds of credits in proportion to the profile's shares (largest remainder), shuffled: even six
    shows get a silent one, one that plays the theme, some over the last scene, some scrolling, instead of whatever
    independent draws give. Silent credits are a card on black."""
    music = max(0.0, 1.0 - profile.p_credits_theme - profile.p_credits_silent)
    counts = _quota([music, profile.p_credits_theme, profile.p_credits_silent], n_shows)
    kinds = [k for k, n in zip(CREDIT_KINDS, counts, strict=True) for _ in range(n)]
    kinds = [kinds[int(i)] for i in rng.permutation(len(kinds))]
    pictured = sum(k != "silent" for k in kinds)
    over = _shuffled_flags(profile.p_credits_over_scene, pictured, rng)
    scroll = _shuffled_flags(profile.p_credits_scroll, n_shows, rng)
    over_iter = iter(over)
    return [CreditsStyle(k, k != "silent" and next(over_iter), s) for k, s in zip(kinds, scroll, strict=True)]


def _shuffled_flags(share: float, n: int, rng: Rng) -> list[bool]:
    on = _quota([1.0 - share, share], n)[1] if n else 0
    return [bool(i < on) for i in rng.permutation(n)]


def compose_credits(
    show: Show, catalog: Catalog, profile: Profile, style: CreditsStyle | None, rng: Rng
) -> SeasonCredits:
    """The season's credits; `style` None: its kind, background and layout drawn with the profile's shares."""
    # Drawn even when `style` is given, so that the rest of the stream stays where it is.
    r, over_scene, scroll = (
        rng.random(),
        rng.random() < profile.p_credits_over_scene,
        rng.random() < profile.p_credits_scroll,
    )
    silent, theme = profile.p_credits_silent, profile.p_credits_theme
    kind = "silent" if r < silent else "theme" if r < silent + theme else "music"
    if style is not None:
        kind, over_scene, scroll = style.kind, style.over_scene, style.scroll
    length = round(_u(rng, profile.credits_s), 2)
    rise = _u(rng, (0.08, 0.16))
    room_db = _u(rng, (-40.0, -30.0))
    digital_silence = rng.random() < 0.4
    tinted = rng.random() < 0.4
    gain, fade_in = _u(rng, (-4.0, 0.0)), _u(rng, (0.05, 1.0))
    pick, where = rng.random(), rng.random()
    cue_s = round(length * 1.1 + 1.0, 2)  # the longest credits of the season, and a little
    cue = None
    if kind == "theme":
        cue = _theme_cue(show, catalog, cue_s, pick, where)
        kind = "music" if cue is None else kind
        if cue is not None and cue.dur_s < cue_s:  # the theme track had less room: shorter credits
            length = round((cue.dur_s - 1.0) / 1.1, 2)
    if kind == "music":
        track = _credits_track(show, catalog, cue_s, pick, where)
        if track is None:
            kind = "silent"
        else:
            cue = AudioEvent(track.id, 0.0, round(_theme_start(track, cue_s, rng), 3), cue_s)
    if cue is not None:
        cue = replace(cue, gain_db=gain, fade_in_s=fade_in)
    color = tuple(int(c) for c in np.clip(np.asarray(show.wash) + 120, 0, 255)) if tinted else (255, 255, 255)
    return SeasonCredits(
        kind=kind,
        cue=cue,
        length_s=length,
        over_scene=over_scene and kind != "silent",  # silent credits are a card on black
        scroll=scroll,
        rise_per_s=rise,
        room_tone_db=None if digital_silence else room_db,
        color=color,  # type: ignore[arg-type]
    )


def _credits_track(show: Show, catalog: Catalog, cue_s: float, pick: float, where: float) -> Track | None:
    """A catalog track that is neither the show's theme nor its score, long enough; from the theme's album when
    there is one (the same composer), else from any."""
    taken = {o.track for o in show.openings} | {t.id for t in show.score}
    pool = [t for t in catalog.music if t.id not in taken] or list(catalog.music)
    if not pool:
        return None
    fits = [t for t in pool if t.duration_s >= cue_s + 1.0] or [max(pool, key=lambda t: t.duration_s)]
    group = next((t.group for t in catalog.music if t.id == show.openings[0].track), "")
    same = [t for t in fits if t.group == group]
    candidates = same if same and pick < 0.6 else fits
    return candidates[min(len(candidates) - 1, int(where * len(candidates)))]


def _theme_cue(show: Show, catalog: Catalog, cue_s: float, pick: float, where: float) -> AudioEvent | None:
    """The first opening's theme track at an excerpt that does not overlap the intro's, `cue_s` long or as long as
    the track has room for beside the intro's excerpt (None: not even MIN_CREDITS_S)."""
    theme = show.openings[0].timeline.audio[0]
    track = next((t for t in catalog.music if t.id == theme.source), None)
    if track is None:
        return None
    before = theme.src_start_s - 0.5
    after = track.duration_s - theme.src_start_s - theme.dur_s - 0.5
    if max(before, after) < cue_s:  # no room for the whole cue: the longer side, if credits fit there at all
        if max(before, after) < MIN_CREDITS_S * 1.1 + 1.0:
            return None
        cue_s = int(max(before, after) * 100) / 100  # rounding up could leave no room at all
    ranges = []
    if before >= cue_s:
        ranges.append((0.0, before - cue_s))
    if after >= cue_s:
        ranges.append((theme.src_start_s + theme.dur_s + 0.5, track.duration_s - cue_s))
    lo, hi = ranges[min(len(ranges) - 1, int(pick * len(ranges)))]
    return AudioEvent(track.id, 0.0, round(lo + (hi - lo) * where, 3), cue_s)


@dataclass(frozen=True)
class _Ending:
    """Where an episode's story ends and what follows, and the hard negatives in its body (seconds)."""

    body_start_s: float
    story_end_s: float  # then [montage][final scene | theme reprise]
    body_end_s: float  # then [preview?][credits?][post-credits?][preview?] to the end
    duration_s: float
    inserts: tuple[tuple[str, float, float], ...]  # ("black" | "dark" | "act", at_s, dur_s), mid-episode
    montage_s: float
    final_s: float  # an ordinary final scene after the montage
    reprise_s: float
    credits_s: float  # 0: no credits
    post_s: float
    preview_s: float
    preview_first: bool
    act_text: str
    fade_out_s: float

    @staticmethod
    def draw(
        profile: Profile,
        credits: SeasonCredits | None,
        number: int,
        n_episodes: int,
        body_start: float,
        duration: float,
        x: Rng,
    ) -> _Ending:
        # Every draw is made, used or not, so that one variant's choice does not move the others'.
        has_credits = x.random() < profile.p_credits and credits is not None
        credits_s = (credits.length_s if credits else 0.0) * _u(x, (0.9, 1.1))
        post, post_s = x.random() < profile.p_post_credits, _u(x, profile.post_credits_s)
        preview, preview_s = x.random() < profile.p_preview, _u(x, profile.preview_s)
        first = x.random() < profile.p_preview_before_credits
        black, n_black = x.random() < profile.p_black_transition, 1 + int(x.random() < 0.4)
        act = x.random() < profile.p_act_card
        montage, montage_s = x.random() < profile.p_montage, _u(x, profile.montage_s)
        final_after, final_s = x.random() < 0.5, _u(x, (8.0, 20.0))
        reprise, reprise_s = x.random() < profile.p_theme_reprise, _u(x, profile.reprise_s)
        where = np.sort(x.uniform(0.2, 0.85, size=3))
        lengths = {"black": [_u(x, (1.0, 3.0)), _u(x, (1.0, 3.0))], "act": [_u(x, (2.0, 4.0))]}
        dark = x.random(size=2) < 0.4
        order = x.permutation(3)
        act_text = _ACT_CARDS[int(x.integers(0, len(_ACT_CARDS)))]
        fade_out = _u(x, (1.5, 3.0))

        # The ending: in the second half, leaving the body MIN_BODY_S at least.
        credits_s = credits_s if has_credits else 0.0
        post_s = post_s if post and credits_s else 0.0
        preview_s = preview_s if preview and number < n_episodes else 0.0
        allowed = max(0.0, min(duration / 2, duration - body_start - MIN_BODY_S))
        if credits_s + post_s + preview_s > allowed:
            post_s = 0.0
        if credits_s + preview_s > allowed:
            preview_s = 0.0
        if credits_s > allowed:
            credits_s = allowed if allowed >= MIN_CREDITS_S else 0.0
        credits_s, post_s, preview_s = round(credits_s, 2), round(post_s, 2), round(preview_s, 2)
        body_end = round(duration - credits_s - post_s - preview_s, 2)

        # Just before the ending: a montage, then an ordinary final scene or the final scene over the theme.
        room = body_end - body_start - MIN_BODY_S
        reprise_s = round(reprise_s, 2) if reprise and reprise_s <= room else 0.0
        room -= reprise_s
        montage_s = round(montage_s, 2) if montage and montage_s <= room else 0.0
        room -= montage_s
        final_s = round(final_s, 2) if montage_s and not reprise_s and final_after and final_s <= room else 0.0
        story_end = round(body_end - reprise_s - montage_s - final_s, 2)

        # Mid-episode: black (or near-black) transitions and an act card, between scenes, apart from each other.
        kinds = (["black"] * n_black if black else []) + (["act"] if act else [])
        inserts: list[tuple[str, float, float]] = []
        span, last_end, used = story_end - body_start, body_start, {"black": 0, "act": 0}
        for slot, i in enumerate(int(i) for i in order if i < len(kinds)):
            kind = kinds[i]
            dur = round(lengths[kind][used[kind]], 2)
            at = round(body_start + float(where[slot]) * span, 2)
            if at - last_end >= 5.0 and at + dur <= story_end - 5.0:
                name = "dark" if kind == "black" and dark[used[kind]] else kind
                inserts.append((name, at, dur))
                last_end = at + dur
            used[kind] += 1
        return _Ending(
            body_start_s=body_start,
            story_end_s=story_end,
            body_end_s=body_end,
            duration_s=duration,
            inserts=tuple(inserts),
            montage_s=montage_s,
            final_s=final_s,
            reprise_s=reprise_s,
            credits_s=credits_s,
            post_s=post_s,
            preview_s=preview_s,
            preview_first=bool(first and credits_s and preview_s),
            act_text=act_text,
            fade_out_s=fade_out,
        )


def _body_and_ending(
    show: Show,
    lines: dict[str, tuple[Line, ...]],
    profile: Profile,
    opening: Opening,
    credits: SeasonCredits | None,
    ending: _Ending,
    rng: Rng,
    x: Rng,
) -> tuple[Timeline, set[str], tuple[SegmentSpan, ...]]:
    """The body with its hard negatives, and the ending (a preview's slot stays empty until `_with_preview`).
    Story scenes draw from the episode's stream `rng`, everything else from its ending stream `x`."""
    timeline = Timeline()
    tags: set[str] = set()
    t = ending.body_start_s
    for kind, at, dur in ending.inserts:
        part, part_tags = _scenes(show, lines, profile, t, at, rng)
        timeline += part + _transition(show, kind, at, dur, ending.act_text, x)
        tags |= part_tags | {"act_card" if kind == "act" else "black_transition"}
        t = round(at + dur, 2)
    part, part_tags = _scenes(show, lines, profile, t, ending.story_end_s, rng)
    timeline += part
    tags |= part_tags
    t = ending.story_end_s
    if ending.montage_s:
        timeline += _montage(show, t, ending.montage_s, x)
        tags.add("montage")
        t = round(t + ending.montage_s, 2)
    if ending.final_s:
        part, part_tags = _scenes(show, lines, profile, t, t + ending.final_s, rng)
        timeline += part
        tags |= part_tags
    if ending.reprise_s:
        timeline += _reprise(show, lines, opening, t, ending.reprise_s, x, profile.takes)
        tags.add("theme_reprise")

    # Credits over the scene go on from its last shot's photo (then the ones before it).
    recent = sorted((s for s in timeline.shots if s.end_s > ending.body_end_s - 12.0), key=lambda s: -s.at_s)
    last_photos = list(dict.fromkeys(s.photo for s in recent)) or list(show.photos)
    pieces = [("preview", ending.preview_s)] if ending.preview_first else []
    pieces += [("credits", ending.credits_s), ("post_credits", ending.post_s)]
    pieces += [] if ending.preview_first else [("preview", ending.preview_s)]
    pieces = [(kind, dur) for kind, dur in pieces if dur > 0]
    segments: list[SegmentSpan] = []
    t = ending.body_end_s
    for k, (kind, dur) in enumerate(pieces):
        end = ending.duration_s if k == len(pieces) - 1 else round(t + dur, 2)
        if kind == "credits":
            assert credits is not None
            timeline += _credits(show, credits, t, end - t, last_photos, ending.fade_out_s, x)
            final = k == len(pieces) - 1
            segments.append(SegmentSpan("credits", t, end, final))
            tags |= credits.tags | {"credits"}
        elif kind == "post_credits":
            scene, _ = compose_scene(show, lines, profile, t, end - t, x)
            timeline += scene
            tags.add("post_credits")
        else:
            segments.append(SegmentSpan("preview", t, end))
            tags |= {"preview", "preview_before_credits"} if ending.preview_first else {"preview"}
        t = end
    if not ending.credits_s:
        tags.add("no_credits")
    return timeline, tags, tuple(segments)


def _transition(show: Show, kind: str, at: float, dur: float, act_text: str, x: Rng) -> Timeline:
    """Black (nothing: black and silence), near-black (the show's picture all but faded out, faint room tone) or
    an act card (text on black): what a credits detector that looks for black or text takes for the end."""
    if kind == "dark":
        photo = show.photos[int(x.integers(0, len(show.photos)))]
        shot = _pan_shot(photo, at, dur, x, wash=(0, 0, 0), wash_amount=_u(x, (0.88, 0.95)))
        return Timeline(tuple(_noise_bed(show, at, dur, _u(x, (-52.0, -44.0)), x)), (shot,))
    if kind == "act":
        card = TextOverlay(act_text, at + 0.1, max(0.5, dur - 0.2), "title", 0.5, 0.5, 0.09)
        return Timeline(texts=(card,))
    return Timeline()


def _montage(show: Show, at: float, dur: float, x: Rng) -> Timeline:
    """A music-only montage: a score track over quick cuts, no speech."""
    audio = _noise_bed(show, at, dur, _u(x, (-48.0, -40.0)), x)
    if show.score:
        track = show.score[int(x.integers(0, len(show.score)))]
        length = min(dur, track.duration_s - 1.0)
        start = _u(x, (0.0, max(0.0, track.duration_s - length)))
        audio.append(AudioEvent(track.id, at, start, length, _u(x, (-3.0, 0.0)), _u(x, (0.5, 2.0)), 2.0))
    return Timeline(tuple(audio), tuple(_shots(show, at, dur, (2.0, 5.0), x)))


def _reprise(
    show: Show, lines: dict[str, tuple[Line, ...]], opening: Opening, at: float, dur: float, x: Rng, takes: bool
) -> Timeline:
    """The final scene, dialogue over the intro's own theme (from the intro's first second), softer."""
    theme = opening.timeline.audio[0]
    music = AudioEvent(
        theme.source, at, theme.src_start_s, dur, theme.gain_db + _u(x, (-8.0, -2.0)), _u(x, (1.0, 3.0)), 2.0
    )
    audio = [music, *_dialogue(show, lines, at, dur, x, takes), *_noise_bed(show, at, dur, _u(x, (-38.0, -28.0)), x)]
    return Timeline(tuple(audio), tuple(_shots(show, at, dur, (3.0, 10.0), x)))


def _credits(
    show: Show, credits: SeasonCredits, at: float, dur: float, photos: list[str], fade_out: float, x: Rng
) -> Timeline:
    """The season's cue (from its first second, faded out at this episode's end of credits) or silence, names
    scrolling or on cards, on black or over the last scene's pictures, darkened."""
    audio: list[AudioEvent] = []
    if credits.cue is not None:
        audio.append(replace(credits.cue, at_s=at, dur_s=dur, fade_out_s=min(fade_out, dur / 3)))
    elif credits.room_tone_db is not None:
        audio += _noise_bed(show, at, dur, credits.room_tone_db, x)
    shots: list[Shot] = []
    if credits.over_scene:
        for k, (a, b) in enumerate(_split_evenly(dur, max(1, round(dur / 8.0)), x, min_s=3.0)):
            photo = photos[k % len(photos)]
            shots.append(_pan_shot(photo, at + a, b - a, x, wash=(0, 0, 0), wash_amount=_u(x, (0.3, 0.5))))
    return Timeline(tuple(audio), tuple(shots), tuple(_credit_texts(credits, at, dur, x)))


def _credit_texts(credits: SeasonCredits, at: float, dur: float, x: Rng) -> list[TextOverlay]:
    dim = tuple(int(c * 0.7) for c in credits.color)
    texts = []
    if credits.scroll:
        # Lines enter at the bottom and leave at the top; the last one leaves as the credits end.
        travel = 1.2 / credits.rise_per_s
        t = at
        while t + travel <= at + dur + 1e-6:
            role = _ROLES[int(x.integers(0, len(_ROLES)))]
            block = [(role, 0.035, dim), (credit_name(x), 0.055, credits.color)]
            block += [(credit_name(x), 0.055, credits.color)] if x.random() < 0.5 else []
            for text, height, color in block:
                if t + travel > at + dur + 1e-6:
                    break
                texts.append(
                    TextOverlay(text, t, travel, "subtitle", 0.5, 1.1, height, color, rise_per_s=credits.rise_per_s)  # type: ignore[arg-type]
                )
                t += 0.1 / credits.rise_per_s  # a line every tenth of the frame's height
            t += 0.1 / credits.rise_per_s  # a blank line between blocks
        return texts
    ys = (0.72, 0.81, 0.89) if credits.over_scene else (0.38, 0.5, 0.61)
    t = at
    while t < at + dur - 1e-6:
        card = _u(x, (2.5, 4.0))
        if at + dur - t - card < 1.5:
            card = at + dur - t
        names = [credit_name(x) for _ in range(1 + int(x.random() < 0.5))]
        role = _ROLES[int(x.integers(0, len(_ROLES)))]
        show_s = max(0.3, card - 0.4)
        texts.append(TextOverlay(role, t + 0.2, show_s, "subtitle", 0.5, ys[0], 0.04, dim))  # type: ignore[arg-type]
        for y, name in zip(ys[1:], names, strict=False):
            texts.append(TextOverlay(name, t + 0.2, show_s, "subtitle", 0.5, y, 0.06, credits.color))
        t += card
    return texts


def _with_preview(show: Show, plan: EpisodePlan, nxt: EpisodePlan | None, seed: int) -> EpisodePlan:
    """Fill `plan`'s preview slot ("next time on") with cuts of the next episode's body."""
    span = next((s for s in plan.segments or () if s.kind == "preview"), None)
    if span is None or nxt is None:
        return plan
    rng = rng_for(seed, show.name, "preview", plan.number)
    timeline = Timeline()
    t = span.start_s
    while t < span.end_s - 1e-6:
        # On the 1/100 s grid, a whole number of samples at 44.1 and 48 kHz, so that every sound of a clip is
        # rendered on the same samples as in the next episode, none a sample off the others.
        clip = round(_u(rng, (2.0, 5.0)), 2)
        if span.end_s - t - clip < 1.0:
            clip = round(span.end_s - t, 2)
        a = round(_u(rng, (nxt.body_start_s, nxt.story_end_s - clip)), 2)
        timeline += nxt.timeline.window(a, a + clip).shifted(t)
        t = round(t + clip, 2)
    label_s = min(3.0, span.end_s - span.start_s - 0.2)
    label = TextOverlay(f"NEXT TIME ON {show.name.upper()}", span.start_s + 0.2, label_s, "caption", 0.5, 0.1, 0.05)
    return replace(plan, timeline=plan.timeline + timeline + Timeline(texts=(label,)))


def with_container(plan: EpisodePlan, container: str) -> EpisodePlan:
    return replace(plan, encode=replace(plan.encode, container=container))
