"""The chapter names we write, against the default name patterns of the tools that skip by chapter name.

The patterns are the tools' documented defaults, transcribed (sources and commits in daemon/publish/matroska.py).
The mpv scripts' Lua patterns here use only `^`, `$` and literal letters, which mean the same in Python's `re`.
"""

from __future__ import annotations

import re

import pytest

from daemon.publish.matroska import COLD_OPEN, ENDING, EPISODE, OPENING, PREVIEW, RECAP

# po5/chapterskip: category -> patterns (case-sensitive); the user picks categories with `skip=`.
CHAPTERSKIP = {
    "prologue": ["^Prologue", "^Intro"],
    "opening": ["^OP", " OP$", "^Opening"],
    "ending": ["^ED", " ED$", "^Ending"],
    "preview": ["Preview$"],
}
# Eisa01's SmartSkip 1.3.4: the same idea; it skips opening, ending and preview by default.
SMARTSKIP = {
    "prologue": ["Prologue", "^Intro"],
    "opening": ["^OP", " OP$", "^Opening"],
    "ending": ["^ED", " ED$", "^Ending", "Credits Start"],
    "preview": ["PV", " PV$", "^Preview", "Preview Start"],
}
SMARTSKIP_DEFAULT_SKIP = {"opening", "ending", "preview"}
# jellyfin-plugin-chapter-segments v4: segment type -> regex (IgnoreCase, unanchored); the first match wins, Intro first.
CHAPTER_SEGMENTS = {
    "Intro": "intro|opening|^OP$",
    "Commercial": "break|ad|advertisement|intermission|advert|commercial",
    "Preview": "preview|next time on|next on|sneak peek",
    "Recap": "recap|last time on|last on|previously on",
    "Outro": "outro|closing|credits|ending|^ED$",
}
# Intro Skipper's chapter analyser (IgnoreCase), and the Commercial pattern of its later versions.
INTRO_SKIPPER = {
    "Introduction": r"(^|\s)(Intro|Introduction|OP|Opening)(?!\sEnd)(\s|$)",
    "Credits": r"(^|\s)(Credits?|ED|Ending|Outro)(?!\sEnd)(\s|$)",
    "Preview": r"(^|\s)(Preview|PV|Sneak\s?Peek|Coming\s?(Up|Soon)|Next\s+(time|on|episode)|Extra|Teaser|Trailer)"
    r"(?!\sEnd)(\s|:|$)",
    "Recap": r"(^|\s)(Re?cap|Sum{1,2}ary|Prev(ious(ly)?)?|(Last|Earlier)(\s\w+)?|Catch[ -]up)(?!\sEnd)(\s|:|$)",
    "Commercial": r"(^|\s)(Ad(vert(isement)?)?|Commercial|Intermission)(?![\s:]+End)(\s|:|$)",
}


def categories(table: dict[str, list[str]], title: str) -> set[str]:
    return {name for name, patterns in table.items() if any(re.search(p, title) for p in patterns)}


def segment_type(title: str) -> str | None:
    return next((t for t, rx in CHAPTER_SEGMENTS.items() if re.search(rx, title, re.IGNORECASE)), None)


def intro_skipper(title: str) -> set[str]:
    return {kind for kind, rx in INTRO_SKIPPER.items() if re.search(rx, title, re.IGNORECASE)}


def test_the_intro_is_what_each_tool_calls_an_opening_or_intro() -> None:
    assert categories(CHAPTERSKIP, OPENING) == {"opening"}
    assert categories(SMARTSKIP, OPENING) == {"opening"} and "opening" in SMARTSKIP_DEFAULT_SKIP
    assert segment_type(OPENING) == "Intro"
    assert intro_skipper(OPENING) == {"Introduction"}


@pytest.mark.parametrize("title", [COLD_OPEN, EPISODE])
def test_the_cold_open_and_the_episode_are_skipped_by_nothing(title: str) -> None:
    assert categories(CHAPTERSKIP, title) == set()
    assert categories(SMARTSKIP, title) == set()
    assert segment_type(title) is None
    assert intro_skipper(title) == set()


def test_why_the_old_names_went() -> None:
    # chapterskip files `Intro` with `Prologue` under "prologue": skipping prologues lost the cold open too, and
    # skipping openings (SmartSkip's default) skipped nothing.
    assert categories(CHAPTERSKIP, "Intro") == categories(CHAPTERSKIP, "Prologue") == {"prologue"}
    assert not categories(SMARTSKIP, "Intro") & SMARTSKIP_DEFAULT_SKIP


def test_the_credits_are_what_each_tool_calls_an_ending_or_outro() -> None:
    assert categories(CHAPTERSKIP, ENDING) == {"ending"}
    assert categories(SMARTSKIP, ENDING) == {"ending"} and "ending" in SMARTSKIP_DEFAULT_SKIP
    assert segment_type(ENDING) == "Outro"
    assert intro_skipper(ENDING) == {"Credits"}
    # "Credits" would be skipped by none of the mpv scripts' defaults.
    assert categories(CHAPTERSKIP, "Credits") == categories(SMARTSKIP, "Credits") == set()


def test_the_preview_is_what_each_tool_calls_a_preview() -> None:
    assert categories(CHAPTERSKIP, PREVIEW) == {"preview"}
    assert categories(SMARTSKIP, PREVIEW) == {"preview"} and "preview" in SMARTSKIP_DEFAULT_SKIP
    assert segment_type(PREVIEW) == "Preview"
    assert intro_skipper(PREVIEW) == {"Preview"}  # not its recap: "Prev" must end the word


def test_the_recap_is_a_recap_where_there_is_one_and_nothing_else_anywhere() -> None:
    assert segment_type(RECAP) == "Recap"
    assert intro_skipper(RECAP) == {"Recap"}
    # Neither mpv script has a recap category; no other category of theirs takes it (users add one themselves).
    assert categories(CHAPTERSKIP, RECAP) == categories(SMARTSKIP, RECAP) == set()
