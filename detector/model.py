"""The seed network: per second, a 10 s log-mel window and the current picture -> intro logit.

    EmbeddingAudio  convolutions with (1, 3) kernels over the log-mel           -> 500 per second
    EmbeddingImage  convolutions with (3, 3) kernels over the picture           -> 500 per second
    IntroNet        [audio 500 | image 500 | extra k] -> LSTM (hidden 300) -> Linear -> 1 logit per second

The audio CNN runs once over the whole silence-padded spectrogram of an episode instead of once per overlapping
window: its time pooling brings it to one column per second, and a Conv1d of kernel WINDOW_S over those columns is
the per-window Linear layer. Each second's embedding therefore sees its own 10 s window (plus the few frames of
the convolutions' receptive field), at a tenth of the cost of recomputing the overlapping windows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from detector.audio import FRAMES_PER_SECOND, N_MELS, WINDOW_S
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
    dropout: float = 0.5  # on the 1000-d embedding: the CNNs otherwise memorise the training shows

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
        self.lstm = nn.LSTM(2 * dims.embedding + dims.n_extra, dims.hidden, batch_first=True)
        self.head = nn.Linear(dims.hidden, 1)

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
        mel (B, n_mels, (N + 10) * 50), pictures (B, N, embedding) -> (B, N, 1000)."""
        return torch.cat([self.audio(mel, pictures.shape[1]), pictures], dim=-1)

    def classify(self, embedding: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        # embedding: (B, N, 1000); extra: (B, N, n_extra) or None for a lone episode -> logits (B, N)
        x = self.dropout(embedding)
        if self.dims.n_extra:
            if extra is None:
                extra = embedding.new_zeros((*embedding.shape[:2], self.dims.n_extra))
            x = torch.cat([x, extra], dim=-1)  # (B, N, 1000 + n_extra)
        hidden, _ = self.lstm(x)  # (B, N, hidden)
        return self.head(self.dropout(hidden)).squeeze(-1)  # (B, N)

    def forward(self, mel: torch.Tensor, frames: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.embed(mel, frames), extra)


def to_image_input(frames: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [-0.5, 0.5]."""
    return frames.permute(0, 3, 1, 2).float().div_(255.0).sub_(0.5)


def sequence_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over the seconds (the seed)."""
    return nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="sum")
