"""Segment sets for the publisher tests: an intro alone (what every target got before the other kinds came) and a
whole set of the four kinds."""

from __future__ import annotations

from detector.result import Intro, Segment


def intro(start_s: float, end_s: float, confidence: float = 0.9) -> tuple[Segment, ...]:
    """A set holding only an intro."""
    return (Segment("intro", start_s, end_s, confidence),)


def of(found: Intro) -> tuple[Segment, ...]:
    """The set of a detection that found only this intro."""
    return intro(found.start_s, found.end_s, found.confidence)


# An episode of 1500 s with every kind: "Previously on", a cold open, the titles, the story, the final credits (nothing
# but credits after them... but the preview) and "Next time on".
RECAP = Segment("recap", 0.0, 42.0, 0.8)
INTRO = Segment("intro", 60.5, 120.25, 0.9)
CREDITS = Segment("credits", 1380.0, 1460.0, 0.85, final=True)
PREVIEW = Segment("preview", 1460.0, 1500.0, 0.7)
EVERY_KIND = (RECAP, INTRO, CREDITS, PREVIEW)
WITHOUT_CREDITS = (RECAP, INTRO, PREVIEW)
