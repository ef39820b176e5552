import math

import numpy as np

from detector.training.metrics import Prediction, evaluate


def test_perfect_predictions():
    s = np.zeros(60, np.float32)
    s[10:30] = 1.0
    report = evaluate([Prediction((10.0, 30.0), (10.0, 30.0), s), Prediction(None, None, np.zeros(60, np.float32))])
    assert report.q_seconds == 1.0 and report.q_interval == 1.0
    assert report.within_1s == 1.0 and report.missed == 0 and report.false_intros == 0
    assert report.mae_start_s == 0.0 and report.story_marked_s == 0.0


def test_errors_are_counted_where_they_happen():
    outcomes = [
        Prediction((10.0, 30.0), (12.0, 31.0), np.zeros(0)),  # within 3 s, not 1 s
        Prediction((5.0, 20.0), None, np.zeros(0)),  # missed
        Prediction(None, (40.0, 50.0), np.zeros(0)),  # false: 10 s of story
    ]
    r = evaluate(outcomes)
    assert r.within_1s == 0.0 and r.within_2s == 0.5 and r.within_3s == 0.5
    assert r.missed == 1 and r.false_intros == 1 and r.no_intro_episodes == 1
    assert r.mae_start_s == 2.0 and r.mae_end_s == 1.0
    assert r.story_marked_s == 10.0 + 1.0  # the false intro plus the second after the true end
    assert math.isnan(r.q_seconds)


def test_q_counts_seconds():
    s = np.zeros(10, np.float32)
    s[:4] = 0.9  # truth is [0, 5): one second missed
    r = evaluate([Prediction((0.0, 5.0), (0.0, 4.0), s)])
    assert r.q_seconds == 0.9


def test_verdict_names_the_tolerance_met_or_the_failure():
    from detector.training.metrics import verdict

    empty = np.zeros(0)
    assert verdict(Prediction((10.0, 30.0), (10.5, 29.2), empty)) == "within +-1 s"
    assert verdict(Prediction((10.0, 30.0), (11.5, 30.0), empty)) == "within +-2 s"
    assert verdict(Prediction((10.0, 30.0), (10.0, 33.0), empty)) == "within +-3 s"
    assert verdict(Prediction((10.0, 30.0), (20.0, 30.0), empty)) == "OFF by more than 3 s"
    assert verdict(Prediction((10.0, 30.0), None, empty)) == "MISSED"
    assert verdict(Prediction(None, (40.0, 50.0), empty)) == "FALSE intro"
    assert verdict(Prediction(None, None, empty)) == "no intro, none marked"


def test_segment_figures_per_kind_and_story_marked() -> None:
    from detector.training.metrics import Segments, kind_report, story_marked_s

    episodes = [
        # credits found 1 s late, final as labelled; the recap found exactly.
        Segments(
            {"recap": (0, 30), "intro": (40, 80), "credits": (500, 560)},
            {"recap": (0, 30), "intro": (40, 80), "credits": (501, 560)},
            True,
            True,
        ),
        # credits found 5 s early (over the last scene's story): outside +-2 s, 5 s of story marked.
        Segments({"intro": (0, 30), "credits": (500, 540)}, {"intro": (0, 30), "credits": (495, 540)}, False, True),
        # no credits, none marked; a preview marked where none is.
        Segments({"intro": (0, 30)}, {"intro": (0, 30), "preview": (580, 600)}),
    ]
    credits = kind_report("credits", episodes)
    assert (credits.with_kind, credits.missed, credits.false) == (2, 0, 0)
    assert credits.start_within_2s == 0.5 and credits.both_within_2s == 0.5
    assert credits.final_right == 1
    preview = kind_report("preview", episodes)
    assert (preview.with_kind, preview.false) == (0, 1)
    assert "marked where none 1 of 3" in preview.line()
    assert [story_marked_s(e) for e in episodes] == [0.0, 5.0, 20.0]
