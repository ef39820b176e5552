"""The seed network: per second, a 10 s log-mel window and the current picture -> intro logit.

    EmbeddingAudio  convolutions with (1, 3) kernels over the log-mel           -> 500 per second
    EmbeddingImage  convolutions with (3, 3) kernels over the picture           -> 500 per second
    IntroNet        [audio 500 | image 500 | sound s | extra k] -> LSTM (hidden 300) -> Linear -> 1 logit per second

`sound` (n_sound = 1; 0 in the seed) is detector.audio.spectral_change, a measure that tells speech from music
across recordings the CNN has never heard.

The seed's LSTM reads the whole episode from its first second (`context_s = 0`). Started from the same zero state
at every file's first second, it can count seconds, and it learned that the first seconds are the intro (issue
25). With `context_s = N` each second's logit comes from the same LSTM run over the N seconds around it only
(`lookahead_s` of them after it), from the zero state: what it hears and sees there, wherever that is in the file.
`two_sided` reads that window forwards up to the second and backwards down to it, so that the logit is taken where
the second is rather than `lookahead_s` steps after it (a one-way read blurs an intro's ends by about that much).

The audio CNN runs once over the whole silence-padded spectrogram of an episode instead of once per overlapping
window: its time pooling brings it to one column per second, and a Conv1d of kernel WINDOW_S over those columns is
the per-window Linear layer. Each second's embedding therefore sees its own 10 s window (plus the few frames of
the convolutions' receptive field), at a tenth of the cost of recomputing the overlapping windows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from detector.audio import FRAMES_PER_SECOND, N_MELS, WINDOW_S, spectral_change
from detector.decode import FRAME_HEIGHT, FRAME_WIDTH

AUDIO_TIME_POOLS = (5, 5, 2)  # product = FRAMES_PER_SECOND: one column per second
AUDIO_CHUNK_S = 120  # seconds of log-mel through the audio trunk at a time (inference)
IMAGE_CHUNK = 64  # pictures through the image CNN at a time: a long episode's pictures never sit in memory as floats
assert AUDIO_TIME_POOLS[0] * AUDIO_TIME_POOLS[1] * AUDIO_TIME_POOLS[2] == FRAMES_PER_SECOND


@dataclass(frozen=True)
class ModelDims:
    n_mels: int = N_MELS
    frame_height: int = FRAME_HEIGHT
    frame_width: int = FRAME_WIDTH
    audio_channels: int = 16
    image_channels: int = 32
    embedding: int = 500  # per modality (the seed's 500 + 500)
    hidden: int = 300  # LSTM hidden size (the seed)
    n_extra: int = 0  # per-second features beside the embeddings (cross-episode repetition); 0 = seed only
    n_sound: int = 0  # 1: the spectral change rate beside the embeddings (detector.audio); 0 = seed only
    dropout: float = 0.5  # on the 1000-d embedding: the CNNs otherwise memorise the training shows
    context_s: int = 0  # 0: the LSTM reads the whole episode (the seed); N: each second's N-second window
    lookahead_s: int = 0  # of a window's seconds, how many follow the second it classifies
    # With a window: read it forwards up to its second and backwards down to it (two LSTM states side by side), so
    # that the second's logit is read where the second is, not lookahead_s steps after it.
    two_sided: bool = False

    def __post_init__(self) -> None:
        if self.n_sound not in (0, 1):
            raise ValueError(f"n_sound is 0 or 1 (the spectral change), not {self.n_sound}")
        if self.context_s < 0 or not 0 <= self.lookahead_s < max(1, self.context_s):
            raise ValueError(
                f"a window of {self.context_s} s with {self.lookahead_s} s after its second: need 0 <= lookahead_s "
                "< context_s (context_s 0: the whole episode, no lookahead)"
            )
        if self.two_sided and not self.context_s:
            raise ValueError("two_sided reads a window from both ends: it needs context_s")

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _block(c_in: int, c_out: int, kernel: tuple[int, int], pool: tuple[int, int], norm: bool) -> nn.Sequential:
    padding = (kernel[0] // 2, kernel[1] // 2)
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, padding=padding, bias=not norm)]
    if norm:
        # GroupNorm, not BatchNorm: a batch is one episode's frames, far from independent samples, so batch
        # statistics in training and running statistics at inference disagree.
        layers.append(nn.GroupNorm(4, c_out))
    return nn.Sequential(*layers, nn.ReLU(inplace=True), nn.MaxPool2d(pool))


class EmbeddingAudio(nn.Module):
    def __init__(self, dims: ModelDims) -> None:
        super().__init__()
        c = dims.audio_channels
        self.trunk = nn.Sequential(
            # No normalisation layers: the log-mel is already scaled, and a norm over the time axis would let
            # the whole episode leak into every second's window.
            _block(1, c // 2, (1, 3), (2, AUDIO_TIME_POOLS[0]), norm=False),
            _block(c // 2, c, (1, 3), (2, AUDIO_TIME_POOLS[1]), norm=False),
            _block(c, c, (1, 3), (2, AUDIO_TIME_POOLS[2]), norm=False),
        )
        column = c * (dims.n_mels // 8)
        self.window = nn.Conv1d(column, dims.embedding, kernel_size=WINDOW_S)

    def forward(self, mel: torch.Tensor, n_seconds: int) -> torch.Tensor:
        # mel: (B, n_mels, (n_seconds + WINDOW_S) * FRAMES_PER_SECOND)
        x = self.columns(mel)  # (B, c, n_mels / 8, n_seconds + WINDOW_S)
        x = x.flatten(1, 2)  # (B, c * n_mels / 8, n_seconds + WINDOW_S)
        x = self.window(x)[..., :n_seconds]  # (B, embedding, n_seconds): second t sees padded [t, t + 10)
        return torch.relu(x).transpose(1, 2)  # (B, n_seconds, embedding)

    def columns(self, mel: torch.Tensor, chunk_s: int = AUDIO_CHUNK_S) -> torch.Tensor:
        """The trunk, one column per second, run over `chunk_s` seconds at a time when not training: its first
        layer's output is 100x the log-mel's size, ~0.2 GB for half an hour at once. A column sees less than a
        second of log-mel on either side (three (1, 3) convolutions between pools of 5, 5, 2), so each chunk
        takes one second more on both sides and keeps its own columns: the same numbers as in one piece."""
        seconds = mel.shape[-1] // FRAMES_PER_SECOND
        if self.training or seconds <= chunk_s:
            return self.trunk(mel.unsqueeze(1))
        parts = []
        for first in range(0, seconds, chunk_s):
            last = min(seconds, first + chunk_s)
            lo, hi = max(0, first - 1), min(seconds, last + 1)
            x = self.trunk(mel[..., lo * FRAMES_PER_SECOND : hi * FRAMES_PER_SECOND].unsqueeze(1))
            parts.append(x[..., first - lo : first - lo + last - first])
        return torch.cat(parts, dim=-1)


class EmbeddingImage(nn.Module):
    def __init__(self, dims: ModelDims) -> None:
        super().__init__()
        c = dims.image_channels
        self.trunk = nn.Sequential(
            _block(3, c // 4, (3, 3), (2, 2), norm=True),  # 36 x 64
            _block(c // 4, c // 2, (3, 3), (2, 2), norm=True),  # 18 x 32
            _block(c // 2, c, (3, 3), (2, 2), norm=True),  # 9 x 16
            _block(c, c, (3, 3), (2, 2), norm=True),  # 4 x 8
        )
        flat = c * (dims.frame_height // 16) * (dims.frame_width // 16)
        self.project = nn.Linear(flat, dims.embedding)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        # frames: (N, 3, H, W) float in [-0.5, 0.5]
        return torch.relu(self.project(self.trunk(frames).flatten(1)))  # (N, embedding)


class IntroNet(nn.Module):
    def __init__(self, dims: ModelDims) -> None:
        super().__init__()
        self.dims = dims
        self.audio = EmbeddingAudio(dims)
        self.image = EmbeddingImage(dims)
        self.dropout = nn.Dropout(dims.dropout)
        self.lstm = nn.LSTM(
            self.embedding_width + dims.n_extra, dims.hidden, batch_first=True, bidirectional=dims.two_sided
        )
        self.head = nn.Linear(dims.hidden * (2 if dims.two_sided else 1), 1)

    @property
    def embedding_width(self) -> int:
        """What `embed` gives per second: the two CNNs' embeddings and the sound measures."""
        return 2 * self.dims.embedding + self.dims.n_sound

    def embed_images(self, frames: torch.Tensor, chunk: int = IMAGE_CHUNK) -> torch.Tensor:
        """(B, N, H, W, 3) uint8 -> (B, N, embedding), `chunk` pictures at a time."""
        b, n = frames.shape[:2]
        flat = frames.reshape(b * n, *frames.shape[2:])
        out = [self.image(to_image_input(flat[i : i + chunk])) for i in range(0, b * n, chunk)]
        return torch.cat(out).reshape(b, n, -1)

    def embed(self, mel: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        # mel: (B, n_mels, (N + 10) * 50); frames: (B, N, H, W, 3) uint8 -> (B, N, 1000)
        return self.embed_with_pictures(mel, self.embed_images(frames))

    def embed_with_pictures(self, mel: torch.Tensor, pictures: torch.Tensor) -> torch.Tensor:
        """`embed` of pictures that embed_images has embedded already (inference does it as they are decoded):
        mel (B, n_mels, (N + 10) * 50), pictures (B, N, embedding) -> (B, N, embedding_width)."""
        parts = [self.audio(mel, pictures.shape[1]), pictures]
        if self.dims.n_sound:
            parts.append(spectral_change(mel, pictures.shape[1]).unsqueeze(-1))
        return torch.cat(parts, dim=-1)

    def with_pictures_at(self, embedding: torch.Tensor, first: int, pictures: torch.Tensor) -> torch.Tensor:
        """`embedding` (N, embedding_width) with the picture part of seconds first .. first + n replaced by
        `pictures` (n, embedding), embed_images of other pictures of those seconds; the sound's part stays."""
        out = embedding.clone()
        out[first : first + len(pictures), self.dims.embedding : 2 * self.dims.embedding] = pictures
        return out

    def classify(self, embedding: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        # embedding: (B, N, embedding_width); extra: (B, N, n_extra) or None for a lone episode -> logits (B, N)
        cnn = 2 * self.dims.embedding
        # Dropout on the CNNs' 1000 only: a single sound measure is not one of many redundant units.
        x = torch.cat([self.dropout(embedding[..., :cnn]), embedding[..., cnn:]], dim=-1)
        if self.dims.n_extra:
            if extra is None:
                extra = embedding.new_zeros((*embedding.shape[:2], self.dims.n_extra))
            x = torch.cat([x, extra], dim=-1)  # (B, N, 1000 + n_extra)
        if self.dims.context_s:
            hidden = windowed_lstm(self.lstm, x, self.dims.context_s, self.dims.lookahead_s)
        else:
            hidden, _ = self.lstm(x)  # (B, N, hidden)
        return self.head(self.dropout(hidden)).squeeze(-1)  # (B, N)

    def forward(self, mel: torch.Tensor, frames: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.embed(mel, frames), extra)


WINDOW_CHUNK = 256  # windows through the recurrence at a time: ~30 MB of gates for 60 s windows


def windowed_lstm(lstm: nn.LSTM, x: torch.Tensor, context_s: int, lookahead_s: int) -> torch.Tensor:
    """(B, N, D) -> (B, N, hidden): second t's output is `lstm` run from its zero state over seconds
    t - (context_s - 1 - lookahead_s) .. t + lookahead_s, the file's first and last seconds repeated past its ends
    (more of what is there, not a sign of where the file starts). nn.LSTM's own arithmetic, gate order i, f, g, o;
    the input projection is computed once per second instead of once per window.

    A bidirectional `lstm` (ModelDims.two_sided) -> (B, N, 2 * hidden): its forward direction over the window's
    seconds up to t, its reverse direction over t + lookahead_s down to t; both end on t, so a second's logit does
    not have to be carried lookahead_s steps (a one-way read blurs an intro's ends by about that much)."""
    assert lstm.num_layers == 1 and lstm.batch_first
    before = context_s - 1 - lookahead_s
    assert before >= 0, f"lookahead_s {lookahead_s} must be under context_s {context_s}"
    if not lstm.bidirectional:
        return _windows(lstm, x, "", before, lookahead_s)
    forward = _windows(lstm, x, "", before, 0)
    backward = _windows(lstm, x, "_reverse", 0, lookahead_s, reverse=True)
    return torch.cat([forward, backward], dim=-1)


def _windows(
    lstm: nn.LSTM, x: torch.Tensor, direction: str, before: int, after: int, reverse: bool = False
) -> torch.Tensor:
    """(B, N, D) -> (B, N, hidden): one direction's weights run over seconds t - before .. t + after for every t
    (read from the last to the first with `reverse`)."""
    b, n, _ = x.shape
    span = before + 1 + after
    weight = lstm.get_parameter
    projected = (
        x @ weight(f"weight_ih_l0{direction}").T + weight(f"bias_ih_l0{direction}") + weight(f"bias_hh_l0{direction}")
    )  # (B, N, 4 * hidden)
    padded = torch.cat(
        [projected[:, :1].expand(b, before, -1), projected, projected[:, -1:].expand(b, after, -1)], dim=1
    )
    windows = padded.unfold(1, span, 1).permute(0, 1, 3, 2).reshape(b * n, span, -1)
    if reverse:
        windows = windows.flip(1)
    weight_hh = weight(f"weight_hh_l0{direction}")
    out = [_recur(weight_hh, windows[i : i + WINDOW_CHUNK]) for i in range(0, b * n, WINDOW_CHUNK)]
    return torch.cat(out).reshape(b, n, -1)


def _recur(weight_hh: torch.Tensor, gates_in: torch.Tensor) -> torch.Tensor:
    """The LSTM's recurrence over (W, T, 4 * hidden) projected inputs from zero state -> (W, hidden) last outputs."""
    hidden = weight_hh.shape[1]
    h = gates_in.new_zeros(gates_in.shape[0], hidden)
    c = torch.zeros_like(h)
    for t in range(gates_in.shape[1]):
        i, f, g, o = (gates_in[:, t] + h @ weight_hh.T).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    return h


def to_image_input(frames: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [-0.5, 0.5]."""
    return frames.permute(0, 3, 1, 2).float().div_(255.0).sub_(0.5)


def sequence_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over the seconds (the seed)."""
    return nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="sum")
