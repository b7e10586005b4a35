"""Toasts name a session one way; dialog bullets wrap under their words."""

from __future__ import annotations

import io

from rich.console import Console

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.bullets import bulleted
from kugetsu_tui.console.dialogs import ConfirmDialog
from kugetsu_tui.console.naming import session_label
from tests.helpers import screen_lines, wait_until


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


async def test_the_destroy_confirmations_bullets_wrap_under_their_words(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False, check_work=False, follow_activity=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.main_screen.table.row_count == 5, what="every row")
        await pilot.press("down", "down", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.pause(0.1)
        lines = screen_lines(app)
        first = next(n for n, line in enumerate(lines) if "• its opencode transcript" in line)
        continuation = lines[first + 1].replace("█", " ")  # the dialog's border
        assert len(continuation) - len(continuation.lstrip()) == lines[first].index("its opencode")
