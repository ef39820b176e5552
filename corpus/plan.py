"""Pure composition: from a catalog, a profile and a seed to shows and episode plans (no media I/O here).

An episode is [recap][cold open][intro][body]; the intro is the same timeline (theme excerpt + title
sequence) in every episode of a season that has one, and always ends in the first half of the episode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from corpus.catalog import NOISE_PREFIX, NOISE_TRACK_S, Catalog, Line, Split, Track, stable_hash
from corpus.profile import IntroClass, Profile
from corpus.timeline import AudioEvent, Framing, Shot, TextOverlay, Timeline
from corpus.words import credit_name, sentence, show_names
from detector.labels import IntroSpan

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
        shows.append(_compose_show(catalog, name, tracks, dur_s, srng))
    return shows


def _intro_classes(profile: Profile, n_shows: int, rng: Rng) -> list[IntroClass]:
    """Intro length classes in proportion to their weights (largest remainder), shuffled: even a corpus of
    six shows gets short, ordinary and long intros instead of whatever an independent draw gives."""
    weights = np.array([c.weight for c in profile.intro_classes], dtype=float)
    quota = weights / weights.sum() * n_shows
    counts = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - counts))[: n_shows - int(counts.sum())]:
        counts[i] += 1
    classes = [c for c, n in zip(profile.intro_classes, counts, strict=True) for _ in range(int(n))]
    return [classes[int(i)] for i in rng.permutation(len(classes))]


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


def _dialogue(show: Show, lines: dict[str, tuple[Line, ...]], at_s: float, dur_s: float, rng: Rng) -> list[AudioEvent]:
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
        events.append(
            AudioEvent(line.id, t, 0.0, dur, voice_gain[speaker], 0.01, 0.05 if dur < line.duration_s else 0.01)
        )
        pause = _u(rng, (0.15, 1.2)) if rng.random() < 0.85 else _u(rng, (1.5, 3.5))
        t += dur + pause
    return events


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
        audio += _dialogue(show, lines, at_s, dur_s, rng)
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


def _recap(show: Show, earlier: list[EpisodePlan], total_s: float, rng: Rng) -> Timeline:
    """'Previously on': cuts of earlier episodes' bodies, which therefore repeat across the season too."""
    timeline = Timeline()
    t = 0.0
    while t < total_s - 1.0:
        src = earlier[-1 - int(rng.integers(0, min(3, len(earlier))))]
        clip = min(_u(rng, (2.5, 8.0)), total_s - t)
        a = _u(rng, (src.body_start_s, src.duration_s - clip))
        timeline += src.timeline.window(a, a + clip).shifted(t)
        t += clip
    label = TextOverlay(f"PREVIOUSLY ON {show.name.upper()}", 0.2, min(2.5, total_s - 0.2), "caption", 0.5, 0.1, 0.05)
    return timeline + Timeline(texts=(label,))


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
) -> EpisodePlan:
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
    if recap_s:
        timeline += _recap(show, earlier, recap_s, rng)
        tags.add("recap")
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
        intro = IntroSpan(body_start, round(body_start + opening.dur_s, 3))
        body_start = intro.end_s
        if opening.tag:
            tags.add(opening.tag)
        if intro.start_s == 0.0:
            tags.add("intro_at_start")
    body, body_tags = _scenes(show, lines, profile, body_start, duration, rng)
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
    )


def compose_season(
    show: Show, catalog: Catalog, profile: Profile, n_episodes: int, seed: int, container: str
) -> list[EpisodePlan]:
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
    episodes: list[EpisodePlan] = []
    for k in range(1, n_episodes + 1):
        erng = rng_for(seed, show.name, k)
        episodes.append(compose_episode(show, lines, profile, k, n_episodes, episodes, k in no_intro, container, erng))
    return episodes


def with_container(plan: EpisodePlan, container: str) -> EpisodePlan:
    return replace(plan, encode=replace(plan.encode, container=container))
