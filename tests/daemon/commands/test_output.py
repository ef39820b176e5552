"""What the commands draw: clocks, the score sparkline with the intro under it, the progress bar."""

import io

import pytest

from daemon.commands.output import Progress, bucket_size, clock, span_marker, sparkline


@pytest.mark.parametrize(
    ("seconds", "options", "text"),
    [
        (0, {}, "0:00"),
        (65.4, {}, "1:05"),
        (3723, {}, "1:02:03"),
        (65, {"hours": True}, "0:01:05"),
        (-3, {"hours": True}, "0:00:00"),
        (65.25, {"tenths": True}, "1:05.2"),
        (9.96, {"tenths": True}, "0:10.0"),
    ],
)
def test_clock(seconds: float, options: dict[str, bool], text: str) -> None:
    assert clock(seconds, **options) == text


def test_sparkline_heights_and_buckets() -> None:
    assert sparkline([0.0, 0.5, 1.0, 0.01]) == " ▄█▁"
    assert sparkline([0.2, 1.0, 0.0, 0.0], width=2) == "█ "  # a bucket shows its highest score
    assert bucket_size(250, 100) == 3 and bucket_size(0, 100) == 1


def test_the_span_marker_lines_up_with_the_sparkline() -> None:
    scores = [0.0] * 10 + [1.0] * 30 + [0.0] * 20
    line, marker = sparkline(scores), span_marker(len(scores), 10.0, 40.0)
    assert marker == " " * 10 + "^" * 30
    assert [line[i] for i, c in enumerate(marker) if c == "^"] == ["█"] * 30
    assert span_marker(300, 0.0, 1.0, width=100) == "^"  # shorter than a character still shows


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_in_a_log_is_one_line_per_step_with_an_eta() -> None:
    stream, now = io.StringIO(), Clock()
    progress = Progress(4, stream, clock=now)
    assert progress.line() == "[........................] 0/4   0% ETA -:--:--"
    now.now += 30
    progress.step("e1.mkv: done")
    now.now += 30
    progress.step("e2.mkv: failed")
    assert stream.getvalue().splitlines() == [
        "[######..................] 1/4  25% ETA 0:01:30 e1.mkv: done",
        "[############............] 2/4  50% ETA 0:01:00 e2.mkv: failed",
    ]
    assert progress.elapsed_s() == 60


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_redraws_one_line() -> None:
    stream = Terminal()
    progress = Progress(2, stream, clock=Clock())
    progress.step("a")
    progress.step("b")
    assert stream.getvalue().count("\r\x1b[K") == 2 and stream.getvalue().endswith("b\n")
