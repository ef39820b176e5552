"""Load the shipped network once; score episodes; assemble the intro. Wraps the model, never lives in it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import struct
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import threadpoolctl
import torch

from detector import cards, cuts
from detector.audio import spectral_change
from detector.checkpoint import Checkpoint
from detector.decode import FrameMode, decode_pictures, decode_seconds
from detector.errors import DecodeError
from detector.features import extract, extract_sound, rest_of_sound
from detector.fingerprint import Fingerprints, picture_hash
from detector.intervals import IntervalParams, find_intro, true_runs
from detector.memory import MemoryCeiling
from detector.model import IntroNet
from detector.repetition import season_context
from detector.result import LONE_MAX_INTRO_S, MAX_ANALYSED_S, MAX_INTRO_S, Detection, Intro, Segment
from detector.season import AnalysisStore, FingerprintStore, MemoryStore, file_identity, placed
from detector.season_rule import (
    SeasonRuleParams,
    decided_by_sound,
    locate_repeated_intro,
    network_only_intro,
    network_outvotes,
)
from detector.segments import SURE_CREDITS, ending_from, find_segments, with_card, with_credits
from detector.speech import narrowed_to_music
from detector.weights import DEFAULT_MODEL, MODELS

log = logging.getLogger(__name__)

# Bumped when what happens after the network changes the results (stored results name it, so the daemon redoes
# older ones): 2 = ends snapped to shot cuts, 3 = the one-sibling fallback, 4 = copies of an episode left out of
# its season context, and intros bounded in length, 5 = a looped theme keeps one offset per sibling (repetition),
# 6 = recap, credits and preview (detector.segments), 7 = clips a recap or a preview quotes found by their
# spectral peaks (detector.landmarks), 8 = a recap's clips from earlier episodes, a preview's from the next, where
# the names give the order, 9 = a recap in an episode without an intro, 10 = a recap's start snapped to 0 from 5 s,
# 11 = a lone intro that holds speech narrowed to the music in it (detector.speech), 12 = a looped theme matched
# one loop off for a few seconds is no change of content (repetition._steady_offsets), 13 = a sibling's own intro
# that would make a run its story is put to its own siblings first (season_rule.held_as_story), 14 = a sibling
# whose analysed span ends inside a run is no change of content (repetition.content_changes), 15 = where the rule
# marks nothing, the season model's own interval when it is sure (season_rule.network_only_intro), 16 = black next
# to the intro is the intro's (cuts.through_black), 17-18 = the ends reach 3 s outward over a held picture, 19 =
# a sibling's contested own intro that the episode's network hears as story does not outvote (season_rule), credits
# repeat closely (segments.CREDITS_SIMILARITY), and the episode's middle is not matched for its segments, 20 = weak
# credits close the siblings that share them (segments.MAX_AFTER_CREDITS_S), an intro a sibling plays only in its
# ending does not place its story there, the network alone marks no intro over 2 minutes (LONE_MAX_INTRO_S), and
# the network's sure interval replaces a rule's answer it hears as story (season_rule.network_outvotes), 21 = a
# quote needs its source to repeat it closely, and seconds the season shares bridge a recap's or a preview's clips
# (segments.MAX_BRIDGED_GAP_S) and run a recap to the intro, and one long stretch of one sibling is no recap
# (segments.MAX_RECAP_CLIP_S), 22 = dense and tinted names on a card (detector.cards), cards that lead into the
# sound's credits start them (segments.with_card), a card run's end placed to the frame, and credits start where
# their siblings repeat them closely (segments._closely_from), and a recap that opens the episode and runs into the
# intro needs 3 s of quotes (segments.MIN_FRAMED_QUOTED_S), and sure credits close their siblings too
# (segments.MAX_AFTER_S), 23 = a sibling holds a run as story by where each second it repeats lands
# (RepetitionFeatures.landing_s), not by their median offset, and a theme's bars matched where they come back in
# it are no change of content (repetition._steady_offsets, LOOP_FLIP_S).
POSTPROCESSING = "post23"
# Season model, an episode with exactly one sibling whose sound shares no intro-like run with it: the lone-episode
# model decides, as if it had none. One sibling is weak evidence: it may be a pilot without the intro, or have the
# other opening.
ONE_SIBLING_FALLBACK = True
# Siblings analysed ahead of their turn (kept for when they are the target): a first scan of a season decodes each
# file once. An entry is the embedding, ~4 KB per analysed second (5 MB for a 44-minute episode).
ANALYSES_KEPT = 32
# An episode decided with at least this many siblings is settled: its analysis (8 kB a second, 10 MB for a
# 44-minute episode) is not kept for `revisit`. Small, so that a library's complete seasons keep nothing: only
# seasons still arriving do, their first few episodes. A season of up to this many plus one ends with the results
# of a scan of the whole season, whatever the order its episodes came in; in a longer one the first episodes keep
# the decision taken with this many siblings.
SETTLED_SIBLINGS = 3
# A lone episode is embedded from its key frames' pictures (each up to a GOP old: seconds), then from the exact
# ones of the runs of seconds the lone model takes for an intro's on them, then of those it scores LONE_UNSURE or more,
# and LONE_EXACT_S around each (the key frames can put an intro's end a GOP off), up to LONE_EXACT_BUDGET_S seconds
# in all (a tenth of the longest span; a run that does not fit is left to the key frames, where they see intros
# everywhere the network is unsure anyway): see _exact_where_unsure. LONE_UNSURE is low, since key frames can hide
# an intro: one scored 1.0 on its exact pictures scored 0.1-0.2 on its key frames' (data/real-seg-val).
LONE_UNSURE = 0.1
LONE_EXACT_S = 15
LONE_EXACT_BUDGET_S = 180
LONE_ROUNDS = 3  # scored again with the exact pictures in, and more decoded where the intro then reaches


def _embed_pictures(net: IntroNet, device: torch.device, pictures: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 pictures on the CPU -> (N, embedding) on `device`: `net`'s image CNN."""
    return net.embed_images(pictures.unsqueeze(0).to(device))[0]


def _candidates(scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """[start, end) runs of seconds that may be an intro's: those scored `threshold` (an intro's) or more, then those
    scored LONE_UNSURE or more; each kind the greatest total score first."""
    found: list[tuple[int, int]] = []
    for level in (threshold, LONE_UNSURE):
        runs = sorted(true_runs(scores >= level), key=lambda r: -float(scores[r[0] : r[1]].sum()))
        found += [r for r in runs if r not in found]
    return found


def inference_frame_mode(trained_on: FrameMode) -> FrameMode:
    """The pictures a model gets by default: those it was trained on, except that a model trained on exact
    pictures (ALL) gets REFERENCE ones, which score the same at half the decoding cost. KEYFRAMES stays a choice:
    it costs the seed model accuracy."""
    return FrameMode.REFERENCE if trained_on is FrameMode.ALL else trained_on


@dataclass(frozen=True)
class Analysis:
    path: Path
    duration_s: float
    embedding: torch.Tensor  # (n_seconds, 1000): the CNN embeddings, the costly part of the network
    fingerprints: Fingerprints | None  # for the season model
    lone: bool = False  # embedded by the lone-episode model (no siblings to match)
    # The lone-episode model's embedding too, for an episode with one sibling (see ONE_SIBLING_FALLBACK).
    lone_embedding: torch.Tensor | None = None
    # A lone episode's embedding by the season model, for deciding it again once siblings arrive (revisit).
    season_embedding: torch.Tensor | None = None
    # (n_seconds,) how fast the sound changes (detector.audio.spectral_change): speech in a lone intro
    # (detector.speech).
    sound_change: np.ndarray | None = None

    def revisitable(self) -> Analysis | None:
        """This analysis as the season model decides it when siblings are there; None without that embedding."""
        embedding = self.season_embedding if self.lone else self.embedding
        if embedding is None or self.fingerprints is None:
            return None
        lone_embedding = self.embedding if self.lone else self.lone_embedding
        return Analysis(
            self.path,
            self.duration_s,
            embedding,
            self.fingerprints,
            lone_embedding=lone_embedding,
            sound_change=self.sound_change,
        )

    def to_bytes(self, model_version: str, siblings_used: int) -> bytes:
        """float32, so that a decision taken again equals one taken from the file (float16 would move scores).
        `siblings_used`: how many siblings the decision it stands for had."""
        assert self.fingerprints is not None and not self.lone
        arrays = [self.embedding.detach().cpu().float().numpy()]
        if self.lone_embedding is not None:
            arrays.append(self.lone_embedding.detach().cpu().float().numpy())
        if self.sound_change is not None:
            arrays.append(np.asarray(self.sound_change, np.float32))
        head = {
            "model": model_version,
            "duration_s": self.duration_s,
            "siblings": siblings_used,
            "shapes": [list(a.shape) for a in arrays],
            "sound_change": self.sound_change is not None,  # the last array
        }
        fingerprints = self.fingerprints.to_bytes()
        head["fingerprints"] = len(fingerprints)
        text = json.dumps(head).encode()
        return b"".join([struct.pack("<I", len(text)), text, fingerprints, *(a.tobytes() for a in arrays)])

    @classmethod
    def from_bytes(cls, path: Path, data: bytes, model_version: str) -> tuple[Analysis, int] | None:
        """The analysis and how many siblings its decision had; None when stored by another model version (or
        unreadable): decided from the file again then."""
        try:
            (size,) = struct.unpack_from("<I", data)
            head = json.loads(data[4 : 4 + size])
            if head["model"] != model_version:
                return None
            at = 4 + size
            fingerprints = placed(path, Fingerprints.from_bytes(data[at : at + head["fingerprints"]]))
            at += head["fingerprints"]
            arrays = []
            for shape in head["shapes"]:
                count = int(np.prod(shape))
                arrays.append(torch.from_numpy(np.frombuffer(data, np.float32, count, at).reshape(shape).copy()))
                at += count * 4
        except (ValueError, KeyError, struct.error):
            return None
        change = arrays.pop().numpy() if head.get("sound_change") else None
        lone_embedding = arrays[1] if len(arrays) > 1 else None
        analysis = cls(
            path, float(head["duration_s"]), arrays[0], fingerprints, lone_embedding=lone_embedding, sound_change=change
        )
        return analysis, int(head["siblings"])


class Detector:
    """`Detector.load()` once, then `detect(path, siblings)` per episode."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        frame_mode: FrameMode | None = None,
        store: FingerprintStore | None = None,
        lone: Checkpoint | None = None,
        snap_to_cuts: bool = True,
        languages: Sequence[str] = (),
        outside: Checkpoint | None = None,
        ceiling: MemoryCeiling | None = None,
        device: str = "cpu",
        cascade: bool = True,
        segments: bool = True,
        speech_check: bool = True,
    ) -> None:
        """snap_to_cuts: both ends, with or without siblings, move to the shot cut next to them (detector.cuts);
        False: the seed design's DBSCAN ends (or the sound's) as they are. languages: the audio languages to
        prefer in a file with several tracks (detector.streams). ceiling: files that would take the process
        over it raise MemoryLimitError. device: where the networks run ("auto": a GPU when torch sees one);
        decoding and features stay on the CPU. cascade: an episode with SETTLED_SIBLINGS stored siblings is decided
        from its sound first, its pictures decoded only when the network could change the answer (see detect); a
        lone episode from its key frames first, the exact pictures then where they leave it unsure (see analyse);
        False: always the network on every second's picture. segments: also the recap, credits and preview
        (detector.segments, detector.cards: the sound of the whole file, the key frames of its end); False: the intro
        alone (what the benchmarks compare with). speech_check: an intro found without siblings is narrowed to
        the music in it when the rest of it sounds like speech (detector.speech); False: the seed design's
        interval. outside: for a lone model fitted to a library (its `domain`), the one for episodes that do not
        look like that library (the shipped seed model)."""
        self.checkpoint = checkpoint
        self.speech_check = speech_check
        self.cascade = cascade
        self.segments = segments
        self.ceiling = ceiling
        self.languages = tuple(languages)
        self.snap_to_cuts = snap_to_cuts
        # The season model leans on repetition and is weak without siblings; a seed model serves lone episodes.
        self.lone_checkpoint = lone if checkpoint.dims.n_extra else None
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.lone_model = self.lone_checkpoint.network(shared=True).to(self.device) if self.lone_checkpoint else None
        self.outside_checkpoint = outside if self.lone_checkpoint and self.lone_checkpoint.domain else None
        self.outside_model = (
            self.outside_checkpoint.network(shared=True).to(self.device) if self.outside_checkpoint else None
        )
        self.store: FingerprintStore = store or MemoryStore()
        # Where analyses wait for `revisit`: the store, when it keeps them (the daemon's database, the CLI's memory).
        self._analyses: AnalysisStore | None = self.store if isinstance(self.store, AnalysisStore) else None
        self.frame_mode = frame_mode or inference_frame_mode(checkpoint.frame_mode)
        self.model = checkpoint.network(shared=True).to(self.device)
        self._kept: OrderedDict[str, Analysis] = OrderedDict()  # siblings analysed ahead of their turn, oldest first

    @classmethod
    def load(
        cls,
        weights: Path | None = None,
        *,
        threads: int | None = None,
        frame_mode: FrameMode | None = None,
        store: FingerprintStore | None = None,
        lone_fallback: bool = True,
        lone_weights: Path | None = None,
        snap_to_cuts: bool = True,
        languages: Sequence[str] = (),
        memory_limit_mb: float | None = None,
        device: str = "cpu",
        cascade: bool = True,
        segments: bool = True,
        speech_check: bool = True,
    ) -> Detector:
        """lone_fallback: a season model hands lone episodes to a seed model: `lone_weights` (one `intro-daemon adapt`
        fitted to a library), else the shipped one (when it is there).
        snap_to_cuts=False: the ends as the intervals stage gives them (the seed design's DBSCAN ends).
        memory_limit_mb: the process's memory ceiling (detector.memory); None: none."""
        torch.set_num_threads(threads or os.cpu_count() or 1)
        # numpy's and scipy's OpenBLAS start a thread per core for each small product (the band powers) and keep
        # them spinning: on a 2-core machine a sound pass took twice the CPU time, and no less wall time.
        threadpoolctl.threadpool_limits(1, user_api="blas")
        checkpoint = Checkpoint.load(weights or MODELS[DEFAULT_MODEL])
        lone = outside = None
        if checkpoint.dims.n_extra and lone_fallback and lone_weights is not None:
            lone = Checkpoint.load(lone_weights)
            if lone.dims.n_extra:
                raise ValueError(f"{lone_weights}: a season model; the lone-episode model is a seed model")
            if lone.domain is not None and MODELS["seed"].exists():
                outside = Checkpoint.load(MODELS["seed"])
        elif checkpoint.dims.n_extra and lone_fallback and MODELS["seed"].exists():
            lone = Checkpoint.load(MODELS["seed"])
        ceiling = MemoryCeiling(memory_limit_mb) if memory_limit_mb else None
        return cls(
            checkpoint,
            frame_mode,
            store,
            lone,
            snap_to_cuts=snap_to_cuts,
            languages=languages,
            outside=outside,
            ceiling=ceiling,
            device=device,
            cascade=cascade,
            segments=segments,
            speech_check=speech_check,
        )

    @property
    def uses_siblings(self) -> bool:
        return self.checkpoint.dims.n_extra > 0

    @property
    def model_version(self) -> str:
        if self.lone_checkpoint is not None:
            return f"{self.checkpoint.version}+{self.lone_checkpoint.version}/{POSTPROCESSING}"
        return f"{self.checkpoint.version}/{POSTPROCESSING}"

    @property
    def intervals(self) -> IntervalParams:
        return self.checkpoint.intervals

    @property
    def season_rule(self) -> SeasonRuleParams:
        return self.checkpoint.season_rule

    @torch.inference_mode()
    def analyse(self, path: str | Path, siblings: int | None = None) -> Analysis:
        """Everything that needs this file decoded: the network's embeddings and, for the season model, the
        fingerprints (stored, so that later episodes of the season need not decode this one again).

        siblings: how many the episode has, when known. With none, the lone-episode model embeds it (when there is
        one); with one, both models do (ONE_SIBLING_FALLBACK)."""
        path = Path(path)
        lone = siblings == 0 and self.lone_model is not None
        net = self.lone_model if lone and self.lone_model is not None else self.model
        other: IntroNet | None = None  # the other model's embedding too
        if ONE_SIBLING_FALLBACK and siblings == 1 and not lone and self.lone_model is not None:
            other = self.lone_model  # the lone embedding
        if lone and self.uses_siblings and self._analyses is not None:  # decided again when siblings arrive
            other = self.model  # the season embedding
        nets = [net] if other is None else [net, other]
        # A lone episode's cascade: the key frames' pictures first (a tenth of the decoding), the exact ones then
        # where the lone model is not sure on them (_exact_where_unsure).
        key_frames_first = lone and self.cascade and self.frame_mode is not FrameMode.KEYFRAMES
        # The pictures are embedded as they are decoded (detector.features): the span's pictures are never held.
        embedders = [partial(_embed_pictures, n, self.device) for n in nets]
        features = extract(
            path,
            FrameMode.KEYFRAMES if key_frames_first else self.frame_mode,
            languages=self.languages,
            ceiling=self.ceiling,
            embedders=embedders,
            with_rest=self.uses_siblings and self.segments,  # the end of the file: credits, previews
        )
        mel = features.mel.unsqueeze(0).to(self.device)
        change = spectral_change(mel, features.n_seconds)[0].cpu().numpy()
        embeddings = [
            n.embed_with_pictures(mel, pictures.unsqueeze(0))[0]
            for n, pictures in zip(nets, features.picture_embeddings, strict=True)
        ]
        if key_frames_first:
            embeddings, picture_codes = self._exact_where_unsure(path, nets, embeddings)
            features = dataclasses.replace(features, picture_codes=picture_codes)
        embedding, *others = embeddings
        lone_embedding = others[0] if others and other is self.lone_model else None
        season_embedding = others[0] if others and other is self.model else None
        own = None
        if self.uses_siblings:
            own = placed(path, features.fingerprints())
            self.store.put(path, own)
        return Analysis(
            path=path,
            duration_s=features.duration_s,
            embedding=embedding,
            fingerprints=own,
            lone=lone,
            lone_embedding=lone_embedding,
            season_embedding=season_embedding,
            sound_change=change,
        )

    def _exact_where_unsure(
        self, path: Path, nets: Sequence[IntroNet], embeddings: list[torch.Tensor]
    ) -> tuple[list[torch.Tensor], np.ndarray]:
        """Embeddings from the key frames' pictures, with the exact pictures (the detector's frame mode) of the
        runs of seconds the lone model may take for intro on them (_candidates) and LONE_EXACT_S around each, the
        runs it is surest of first, up to LONE_EXACT_BUDGET_S in all, scored again with those in (LONE_ROUNDS): a
        key frame can be seconds old, which moves an intro's ends, makes one of the scene after it or hides one,
        while where an intro cannot be the key frames tell. The first net is the lone model; every net's embedding
        gets the same pictures. Also the pictures' hashes for the fingerprints: those of the exact pictures, 0 ("no
        information", as for the sound alone) where a key frame stood in."""
        n = len(embeddings[0])
        # The same pictures make the same embedding for either lone network (a fitted one keeps the CNNs).
        net, checkpoint, _ = self._lone_network(embeddings[0])
        exact = np.zeros(n, bool)
        codes = np.zeros(n, np.uint64)
        # Again with the exact pictures in: an intro the key frames cut short reaches past its first window.
        for _ in range(LONE_ROUNDS):
            scores = torch.sigmoid(net.classify(embeddings[0].unsqueeze(0))[0]).cpu().numpy()
            wanted = exact.copy()
            for a, b in _candidates(scores, checkpoint.intervals.threshold):
                more = wanted.copy()
                more[max(0, a - LONE_EXACT_S) : b + LONE_EXACT_S] = True
                if more.sum() <= LONE_EXACT_BUDGET_S:  # one that does not fit is left to the key frames
                    wanted = more
            if not (wanted & ~exact).any():
                break
            for a, b in true_runs(wanted & ~exact):
                pictures = decode_seconds(path, a, b, self.frame_mode)
                codes[a:b] = picture_hash(pictures)
                embeddings = [
                    net.with_pictures_at(e, a, _embed_pictures(net, self.device, torch.from_numpy(pictures)))
                    for net, e in zip(nets, embeddings, strict=True)
                ]
            exact = wanted
        return embeddings, codes

    @torch.inference_mode()
    def finish(self, analysis: Analysis, siblings: Sequence[Fingerprints]) -> Detection:
        """Scores and interval of an analysed episode, given its siblings' fingerprints."""
        if analysis.lone:
            return self._alone(analysis, analysis.embedding, ("network",))
        signals: tuple[str, ...] = ("network",)
        extra, repetition = None, None
        if analysis.fingerprints is not None:
            siblings, repetition, n_copies = season_context(analysis.fingerprints, siblings)
            if n_copies:
                log.info("%s: %d copies of it in the season left out of its context", analysis.path, n_copies)
                signals += ("copies",)
                if not siblings and analysis.lone_embedding is not None:
                    return self._alone(analysis, analysis.lone_embedding, signals)
            without_siblings = signals
            extra = torch.from_numpy(repetition.matrix()).unsqueeze(0).to(self.device)
            if repetition.n_siblings:
                signals += ("repetition",)
        logits = self.model.classify(analysis.embedding.unsqueeze(0), extra)[0]
        scores = torch.sigmoid(logits).cpu().numpy().astype(np.float32)
        if analysis.fingerprints is not None and repetition is not None and repetition.n_siblings:
            intro = locate_repeated_intro(scores, analysis.fingerprints, siblings, repetition, self.season_rule)
            if self.season_rule.refine:
                signals += ("edges",)
            if intro is None and repetition.n_siblings == 1 and analysis.lone_embedding is not None:
                return self._alone(analysis, analysis.lone_embedding, (*without_siblings, "sibling-unmatched"))
            # Where the rule marks nothing, or marks what the network hears as story, the network may be sure.
            found = find_intro(scores, self.intervals)
            if intro is None:
                intro = network_only_intro(found, analysis.fingerprints, siblings, self.season_rule)
                signals += ("network-only",) if intro is not None else ()
            else:
                sure = network_outvotes(
                    intro, scores, found, analysis.fingerprints, siblings, repetition, self.season_rule
                )
                if sure is not None:
                    intro, signals = sure, (*signals, "network-only")
        else:
            intro, heard = self._lone_intro(analysis, scores, self.intervals)
            signals += heard
        intro, at_cuts = self._at_cuts(analysis.path, intro)
        others: tuple[Segment, ...] = ()
        if analysis.fingerprints is not None and repetition is not None and repetition.n_siblings:
            others = find_segments(analysis.fingerprints, siblings, intro, analysis.duration_s)
        others = self._credits_on_a_card(analysis.path, analysis.duration_s, intro, others)
        return self._detection(analysis.path, analysis.duration_s, scores, intro, signals + at_cuts, others)

    def _by_sound(self, path: Path, siblings: Sequence[Fingerprints]) -> Detection | None:
        """The cascade's first step: the episode decided from its sound and its siblings' stored fingerprints, when
        the network's scores cannot change the answer (season_rule.decided_by_sound); its pictures are decoded only
        around the intro's ends, for the shot cuts. None: the pictures are needed (nothing is stored then)."""
        threaded = torch.get_num_threads() > 1
        sound = extract_sound(path, self.languages, self.ceiling, threaded=threaded, with_peaks=self.segments)
        own = placed(path, sound.fingerprints())
        others, repetition, n_copies = season_context(own, siblings)
        if repetition.n_siblings < 2:  # one sibling or none left: the lone-episode model may be asked
            return None
        certain, intro = decided_by_sound(own, others, repetition, self.season_rule)
        if not certain:
            log.info("%s: the network's scores could change the answer: decoding its pictures", path)
            return None
        signals: tuple[str, ...] = ("copies",) if n_copies else ()
        signals += ("repetition", "sound") + (("edges",) if self.season_rule.refine else ())
        # The ending's sound (credits, preview) is decoded while the intro's ends are placed: beside the span's
        # decoding it slowed it by more than it took, both decoders holding the GIL between packets.
        decode_ending = partial(rest_of_sound, path, sound.n_seconds, sound.duration_s, self.languages)
        with ThreadPoolExecutor(1, thread_name_prefix="ending") if threaded else contextlib.nullcontext() as thread:
            ending = thread.submit(decode_ending) if thread is not None and self.segments else None
            intro, at_cuts = self._at_cuts(path, intro)
        if self.segments:
            rest = ending.result() if ending is not None else decode_ending()
            own = placed(path, dataclasses.replace(sound, rest=rest).fingerprints())
        self.store.put(path, own)
        found = find_segments(own, others, intro, sound.duration_s)
        found = self._credits_on_a_card(path, sound.duration_s, intro, found)
        return self._detection(path, sound.duration_s, repetition.audio_support, intro, signals + at_cuts, found)

    def _alone(self, analysis: Analysis, embedding: torch.Tensor, signals: tuple[str, ...]) -> Detection:
        """The lone-episode model's result, as for an episode without siblings."""
        net, checkpoint, outside = self._lone_network(embedding)
        logits = net.classify(embedding.unsqueeze(0))[0]
        scores = torch.sigmoid(logits).cpu().numpy().astype(np.float32)
        intro, heard = self._lone_intro(analysis, scores, checkpoint.intervals)
        signals += outside
        intro, at_cuts = self._at_cuts(analysis.path, intro)
        others = self._credits_on_a_card(analysis.path, analysis.duration_s, intro, ())
        return self._detection(analysis.path, analysis.duration_s, scores, intro, signals + heard + at_cuts, others)

    def _lone_network(self, embedding: torch.Tensor) -> tuple[IntroNet, Checkpoint, tuple[str, ...]]:
        """The lone network for this episode, its checkpoint, and ("outside-library",) when the lone model was
        fitted to a library (`intro-daemon adapt`) that the episode does not look like: the shipped one decides
        then, since a fitted model forgets the makes its library lacks (detector.domain)."""
        assert self.lone_model is not None and self.lone_checkpoint is not None
        domain, model, checkpoint = self.lone_checkpoint.domain, self.outside_model, self.outside_checkpoint
        if domain is not None and model is not None and checkpoint is not None and not domain.contains(embedding):
            return model, checkpoint, ("outside-library",)
        return self.lone_model, self.lone_checkpoint, ()

    def _lone_intro(
        self, analysis: Analysis, scores: np.ndarray, params: IntervalParams
    ) -> tuple[Intro | None, tuple[str, ...]]:
        """The network's interval without siblings (the seed design's DBSCAN), narrowed to the music in it when
        the rest of it sounds like speech (detector.speech), and ("speech",) then; none, and ("too-long",), when
        it is longer than the network alone may call an intro (LONE_MAX_INTRO_S)."""
        intro = find_intro(scores, params)
        heard: tuple[str, ...] = ()
        if intro is not None and self.speech_check and analysis.sound_change is not None:
            narrowed = narrowed_to_music(intro, analysis.sound_change, scores)
            if narrowed is not None:
                intro, heard = narrowed, ("speech",)
        if intro is not None and intro.duration_s > LONE_MAX_INTRO_S:
            log.info(
                "%s: %.0f s found alone, longer than the network alone may call an intro",
                analysis.path,
                intro.duration_s,
            )
            return None, (*heard, "too-long")
        return intro, heard

    def _credits_on_a_card(
        self, path: Path, duration_s: float, intro: Intro | None, found: tuple[Segment, ...]
    ) -> tuple[Segment, ...]:
        """Credits the sound did not find, or found shared by few siblings, from the pictures of the episode's end:
        its key frames first, then every frame next to the first card and the last (detector.cards; how they join
        what the sound found: segments.with_card). A file that fails there keeps what the sound found."""
        heard = next((s for s in found if s.kind == "credits"), None)
        if not self.segments or (heard is not None and heard.confidence >= SURE_CREDITS):
            return found
        try:
            from_s = ending_from(duration_s, intro)  # the ending's key frames: a tenth of its cost or less
            ((times, pictures),) = decode_pictures(path, [(from_s, duration_s)], keyframes=True)
            run = cards.card_run(times, pictures)
            if run is None:
                return found
            before_s, first_s, end_s = run
            if with_card(found, first_s, first_s, end_s, duration_s) is None:
                return found
            # Every frame from the key frame before the run to its first, and from its last to the one after it.
            spans = [(before_s, first_s)] + ([(float(times[times < end_s][-1]), end_s)] if end_s < duration_s else [])
            exact = decode_pictures(path, spans)
        except DecodeError as exc:
            log.warning("%s; credits on a card not looked for", exc)
            return found
        start_s = round(cards.first_dark(*exact[0], default_s=first_s), 3)
        if len(exact) > 1:
            end_s = round(cards.first_lit(*exact[1], default_s=end_s), 3)
        return with_card(found, start_s, first_s, end_s, duration_s) or found

    def _at_cuts(self, path: Path, intro: Intro | None) -> tuple[Intro | None, tuple[str, ...]]:
        """The intro's ends at the shot cuts next to them, then through the black next to them (detector.cuts), and
        ("cuts",), ("black",) when that moved one. Decodes ~5.5 s of pictures around each end; a file that fails there
        keeps the ends it has."""
        if intro is None or not self.snap_to_cuts:
            return intro, ()
        try:
            spans = decode_pictures(path, cuts.windows(intro))
        except DecodeError as exc:
            log.warning("%s; intro ends kept as found", exc)
            return intro, ()
        snapped = cuts.snap_intro(intro, *spans)
        framed = cuts.through_black(snapped, *spans)
        return framed, (("cuts",) if snapped != intro else ()) + (("black",) if framed != snapped else ())

    def _detection(
        self,
        path: Path,
        duration_s: float,
        scores: np.ndarray,
        intro: Intro | None,
        signals: tuple[str, ...],
        others: tuple[Segment, ...] = (),
    ) -> Detection:
        if intro is not None and intro.duration_s > MAX_INTRO_S:
            log.info("%s: %.0f s found, longer than an intro can be: none marked", path, intro.duration_s)
            intro, signals = None, (*signals, "too-long")
        if duration_s / 2 > MAX_ANALYSED_S:  # the end of its first half was not looked at
            signals = (*signals, "capped")
        return Detection(
            path=path,
            duration_s=duration_s,
            intro=intro,
            model_version=self.model_version,
            scores=tuple(round(float(s), 3) for s in scores),
            signals=signals,
            others=others,
        )

    def detect(self, path: str | Path, siblings: Sequence[Path] = ()) -> Detection:
        """One episode; its siblings' fingerprints come from the store, or are decoded once and stored. An episode
        decided with fewer than SETTLED_SIBLINGS siblings keeps its analysis in the store, for `revisit`.

        The cascade: with at least SETTLED_SIBLINGS siblings stored, the sound is decoded first and the season's
        repetition decides when the network's scores cannot change the answer (most episodes of a season); the
        pictures are decoded only around the intro's ends then. Otherwise the file is decoded again with its
        pictures (the sound, a few per cent of the cost, twice), and the network scores every second."""
        path = Path(path)
        found = self._sibling_fingerprints(siblings) if self.uses_siblings else []
        kept = self._kept.pop(file_identity(path), None) if found else None
        if kept is None and self.cascade and len(found) >= SETTLED_SIBLINGS:
            by_sound = self._by_sound(path, found)
            if by_sound is not None:
                if self._analyses is not None:
                    self._analyses.drop_analysis(path)
                return by_sound
        analysis = kept or self.analyse(path, siblings=len(found))
        detection = self.finish(analysis, found)
        if self._analyses is not None:
            stored = analysis.revisitable() if len(found) < SETTLED_SIBLINGS else None
            if stored is not None:
                self._analyses.put_analysis(analysis.path, stored.to_bytes(self.model_version, len(found)))
            else:
                self._analyses.drop_analysis(analysis.path)
        return detection

    def revisit(self, path: Path, siblings: Sequence[Path], settled: Detection | None = None) -> Detection | None:
        """Decide an episode again from its stored analysis and the siblings' stored fingerprints, decoding nothing
        but the few seconds around its ends for the shot cuts. None: nothing stored for it (settled, or another
        model), or no more siblings stored than its decision had.

        settled: the episode's stored result, for an episode settled before an episode its recap or preview may
        quote arrived (a weekly show's next episode): its recap, credits and preview are decided again from the
        stored fingerprints, its intro kept, nothing decoded (see _requoted)."""
        data = self._analyses.get_analysis(path) if self._analyses is not None else None
        stored = Analysis.from_bytes(path, data, self.model_version) if data is not None else None
        if stored is None or self._analyses is None:
            return self._requoted(path, siblings, settled) if settled is not None else None
        analysis, had = stored
        found = [placed(s, f) for s, f in ((s, self.store.get(s)) for s in siblings) if f is not None]
        if len(found) <= had:
            return None
        detection = self.finish(analysis, found)
        if len(found) >= SETTLED_SIBLINGS:
            self._analyses.drop_analysis(path)
        else:
            self._analyses.put_analysis(path, analysis.to_bytes(self.model_version, len(found)))
        return dataclasses.replace(detection, signals=(*detection.signals, "revisited"))

    def _requoted(self, path: Path, siblings: Sequence[Path], settled: Detection) -> Detection | None:
        """`settled` with its recap, credits and preview found again against the siblings stored now; None when
        this model did not decide it, or the whole sound of the episode or of its siblings is not stored. Credits
        that the pictures found (a card) stay, unless the sound now finds sure ones: the pictures are not decoded
        again, so credits the sound now finds unsure stay the sound's."""
        own = self.store.get(path)
        if not self.segments or settled.model_version != self.model_version or own is None or not len(own.rest_audio):
            return None
        own = placed(path, own)
        found = [placed(s, f) for s, f in ((s, self.store.get(s)) for s in siblings) if f is not None]
        others, _, _ = season_context(own, found)  # copies left out, as when it was decided
        if not any(len(s.rest_audio) for s in others):
            return None
        segments = find_segments(own, others, settled.intro, settled.duration_s)
        heard = next((s for s in segments if s.kind == "credits"), None)
        card = next((s for s in settled.others if s.kind == "credits" and "card" in s.signals), None)
        if card is not None and (heard is None or heard.confidence < SURE_CREDITS):
            segments = with_credits(tuple(s for s in segments if s.kind != "credits"), card)
        signals = settled.signals if "revisited" in settled.signals else (*settled.signals, "revisited")
        return dataclasses.replace(settled, others=segments, signals=signals)

    def _sibling_fingerprints(self, siblings: Sequence[Path]) -> list[Fingerprints]:
        """Fingerprints of every usable sibling. One not in the store is analysed in full, not just fingerprinted,
        and the analysis kept: in a first scan of a season it is the next target, and decoding is most of the cost."""
        found = []
        for sibling in siblings:
            try:
                cached = self.store.get(sibling)
                if cached is None:
                    # In a first scan this sibling's own turn comes with the same season around it.
                    analysis = self.analyse(sibling, siblings=len(siblings))
                    self._kept[file_identity(sibling)] = analysis
                    while len(self._kept) > ANALYSES_KEPT:
                        self._kept.popitem(last=False)
                    cached = analysis.fingerprints
                if cached is not None:
                    found.append(placed(sibling, cached))
            except (DecodeError, OSError) as exc:
                log.warning("sibling left out of the season context: %s", exc)
        return found

    def detect_season(self, paths: Sequence[Path]) -> Iterator[tuple[Path, Detection | DecodeError]]:
        """Every episode of one season, each file decoded once; failures are yielded, never raised."""
        analyses: dict[Path, Analysis] = {}
        for path in paths:
            try:
                analyses[path] = self.analyse(path, siblings=len(paths) - 1)
            except DecodeError as exc:
                yield path, exc
        for path, analysis in analyses.items():
            siblings = [a.fingerprints for p, a in analyses.items() if p != path and a.fingerprints is not None]
            yield path, self.finish(analysis, siblings)


def detect_all(detector: Detector, targets: list[Path], others: list[Path]) -> Iterator[tuple[Path, Detection | str]]:
    """Detections in order, or the error message of a file that failed; a failure never stops the rest.

    targets: episodes of one season to detect; others: their siblings that are not to be detected. A season without
    others is detected as a whole (each file decoded once)."""
    try:
        if others or len(targets) == 1:
            results: Iterable[tuple[Path, Detection | DecodeError]] = ((t, detector.detect(t, others)) for t in targets)
        else:
            results = detector.detect_season(targets)
        for path, result in results:
            yield path, result.cause if isinstance(result, DecodeError) else result
    except DecodeError as exc:
        yield exc.path, exc.cause
