"""Plain-text formatting shared by the CLI and the console: escapes, ages and counts."""

from __future__ import annotations

import pytest

from kugetsu_tui.base.text import age, counted, printable


def test_control_characters_are_shown_not_sent() -> None:
    assert printable("a\x1b[31mb\x07\x9b") == "a\\x1b[31mb\\x07\\x9b"
    assert printable(None) == ""


@pytest.mark.parametrize(
    ("seconds", "coarse", "text"),
    [
        (5, False, "5s"),
        (5, True, "<1m"),
        (61, True, "1m"),
        (7200, False, "2h"),
        (3 * 86400, True, "3d"),
        (-1, False, ""),
        (None, False, ""),
    ],
)
def test_ages(seconds, coarse, text) -> None:
    assert age(seconds, coarse=coarse) == text


@pytest.mark.parametrize(
    ("count", "noun", "plural", "text"),
    [
        (0, "commit", None, "0 commits"),
        (1, "commit", None, "1 commit"),
        (2, "commit", None, "2 commits"),
        (1, "dev session", None, "1 dev session"),
        (3, "entry", "entries", "3 entries"),
        (1, "entry", "entries", "1 entry"),
    ],
)
def test_a_count_takes_its_noun_in_the_right_number(count: int, noun: str, plural: str | None, text: str) -> None:
    assert counted(count, noun, plural) == text
