"""Plain-text formatting shared by the CLI and the console: escapes and ages."""

from __future__ import annotations

import pytest

from kugetsu_tui.base.text import age, printable


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
