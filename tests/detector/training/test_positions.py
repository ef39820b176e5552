"""The rows of the per-position table: where an episode's intro starts."""

from detector.labels import EpisodeTruth, IntroSpan
from detector.training.evaluation import intro_positions


def _episode(start_s: float | None, duration_s: float = 600.0) -> EpisodeTruth:
    intro = None if start_s is None else IntroSpan(start_s, start_s + 30.0)
    return EpisodeTruth("a.mkv", "Show", "Season 01", duration_s, intro)


def test_each_intro_counts_in_the_row_of_where_it_starts_and_past_a_quarter_too():
    assert intro_positions(_episode(0.0)) == ("at 0 s",)
    assert intro_positions(_episode(12.0)) == ("after 1-20 s",)
    assert intro_positions(_episode(45.0)) == ("after 20-60 s",)
    assert intro_positions(_episode(120.0)) == ("after 1-5 min",)
    assert intro_positions(_episode(200.0)) == ("after 1-5 min", "past 25 %")
    assert intro_positions(_episode(400.0, 1800.0)) == ("after 5 min",)
    assert intro_positions(_episode(None)) == ("none",)
