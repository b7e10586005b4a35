"""Toasts name a session one way; dialog bullets wrap under their words."""

from __future__ import annotations

import io

from rich.console import Console

from kugetsu_tui.console.bullets import bulleted
from kugetsu_tui.console.naming import session_label


def test_a_session_is_named_by_its_ref_where_it_has_one_else_by_its_file_name() -> None:
    assert session_label("github.com-acme-widgets-12", "github.com/acme/widgets#12") == "github.com/acme/widgets#12"
    assert session_label("pm-agent", None) == "pm-agent"
    assert session_label("github.com-acme-widgets-16", "") == "github.com-acme-widgets-16"
    assert session_label("x", {"not": "a ref"}) == "x"  # a file's field of the wrong type
    assert session_label("a\x1b[31m", None) == "a\\x1b[31m"  # printable: names come from files


def drawn(body: str, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(bulleted(body))
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_a_long_bullet_wraps_under_its_first_word_and_other_lines_stay_as_they_are() -> None:
    body = "• " + "word " * 12 + "\n• short [b]markup[/b]\n\nEach is destroyed."
    lines = drawn(body, 30)
    assert lines[0].startswith("• word")
    continued = lines[1 : lines.index(next(line for line in lines if "short" in line))]
    assert continued and all(line.startswith("  word") for line in continued)  # hanging indent
    assert "• short [b]markup[/b]" in lines  # literal
    assert lines[-2:] == ["", "Each is destroyed."]
