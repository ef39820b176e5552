"""The memory ceiling: refused before decoding when the estimate is over it, stopped while decoding when the
process goes over it; the estimate grows with the span and the picture, and is bounded by the span's cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.errors import MemoryLimitError
from detector.features import extract
from detector.memory import MemoryCeiling, need_mb, resident_mb
from detector.result import MAX_ANALYSED_S
from tests.clips import write_clip


def test_the_estimate_grows_with_the_span_and_the_picture_and_is_bounded() -> None:
    assert need_mb(60) < need_mb(1200) < need_mb(MAX_ANALYSED_S)
    assert need_mb(60, 1920, 1080) < need_mb(60, 3840, 2160)
    assert need_mb(MAX_ANALYSED_S, 3840, 2160) < 1536 - 600  # the default ceiling over the loaded models


def test_a_file_that_would_go_over_the_ceiling_is_refused_before_decoding(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "ep.mkv", 8.0)
    tight = MemoryCeiling(resident_mb() + need_mb(4) / 2)
    with pytest.raises(MemoryLimitError, match=r"over the memory ceiling of \d+ MB \(worker.memory_limit_mb\)"):
        extract(clip, ceiling=tight)
    roomy = MemoryCeiling(resident_mb() + 10 * need_mb(4))
    assert extract(clip, ceiling=roomy).n_seconds == 4


def test_going_over_the_ceiling_while_decoding_stops_the_file(tmp_path: Path) -> None:
    with pytest.raises(MemoryLimitError, match=r"went over the memory ceiling of 1 MB .* while analysing it"):
        MemoryCeiling(1).check(tmp_path / "ep.mkv")
