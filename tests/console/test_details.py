"""The details pane at 80x24: the fields fill the width, then the log, all in one scroll that Down and PageDown move."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.app import App
from textual.widget import Widget

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.details import DetailsScreen, FieldGrid, LogLines
from tests.helpers import screen_lines, wait_until, write_session

NAME = "github.com-acme-widgets-21"
#: Sixteen short fields, as kugetsu and our supervisor write them (a real dev session has about twenty).
FIELDS = {
    "type": "forked",
    "issue_ref": "github.com/acme/widgets#21",
    "state": "idle",
    "exit_code": 0,
    "branch_name": "fix/issue-21",
    "repo": "widgets",
    "model": "gpt-5",
    "agent": "build",
    "attempt": 2,
    "queue_id": "q_21",
    "priority": "high",
    "label": "bug",
    "owner": "acme",
    "retries": 1,
    "pm": "pm-agent",
    "tokens": 12345,
}
LOG_LINES = 60


def scrolling_widgets(app: App[Any]) -> list[Widget]:
    return [w for w in app.screen.query("*") if w.show_vertical_scrollbar or w.show_horizontal_scrollbar]


async def open_details(pilot, app: KugetsuConsole) -> DetailsScreen:
    await wait_until(pilot, lambda: NAME in app.model.views, what="the session's row")
    app.main_screen.table.move_cursor(app.main_screen.table.row_index(NAME))
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen))
    screen = app.screen
    assert isinstance(screen, DetailsScreen)
    await wait_until(pilot, lambda: len(screen.query_one(LogLines).lines) == LOG_LINES, what="the log")
    await pilot.pause(0.1)
    return screen


def write_details_session(home: Home) -> None:
    write_session(home, NAME, FIELDS)
    home.ensure(home.logs_dir)
    home.log_path(NAME).write_text("".join(f"agent line {n}\n" for n in range(1, LOG_LINES + 1)))


async def test_at_80x24_every_field_shows_and_the_log_takes_the_rest_in_one_scroll(static_home: Home) -> None:
    write_details_session(static_home)
    app = KugetsuConsole(static_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_details(pilot, app)
        shown = "\n".join(screen_lines(app))
        visible = [key for key in FIELDS if f" {key} " in shown]
        assert visible == list(FIELDS), f"only {len(visible)} of {len(FIELDS)} fields on screen:\n{shown}"
        assert "agent line 1" in shown  # the log starts in the space the fields leave
        lines = screen_lines(app)
        title = next(line for line in lines if "agent log:" in line)
        first = next(line for line in lines if "agent line 1" in line)
        assert first.index("agent line 1") == title.index("agent log:")  # the log is indented like its title
        assert len(scrolling_widgets(app)) == 1  # one scroll, not one for the fields and one for the log


async def test_down_scrolls_a_line_and_pagedown_a_page(static_home: Home) -> None:
    write_details_session(static_home)
    app = KugetsuConsole(static_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_details(pilot, app)
        scroll = screen.scroll
        top = screen_lines(app)[1]
        await pilot.press("down")
        await wait_until(pilot, lambda: scroll.scroll_y == 1, what="one line down")
        await pilot.pause(0.1)
        assert screen_lines(app)[1] != top
        await pilot.press("pagedown")
        page = scroll.scrollable_content_region.height
        await wait_until(pilot, lambda: scroll.scroll_y == 1 + page, what="one page down")
        await pilot.press("end")
        await wait_until(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, what="the end")
        assert f"agent line {LOG_LINES}" in "\n".join(screen_lines(app))


def drawn(grid: FieldGrid, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(grid)
    return console.export_text().splitlines()


def test_short_fields_share_lines_and_long_ones_wrap_under_their_value() -> None:
    short = [("type", "forked", ""), ("state", "idle", ""), ("exit", "0", ""), ("pid", "42", "")]
    fields = [*short[:2], ("path", "/a/b " * 12, ""), *short[2:]]
    lines = drawn(FieldGrid(fields, 5), 36)
    assert lines[0].split() == ["type", "forked", "exit", "0"]  # two columns, read down then across
    assert lines[1].split() == ["state", "idle", "pid", "42"]
    path = [line for line in lines if "/a/b" in line]
    assert len(path) > 1 and path[0].startswith("path") and all(line.startswith(" " * 7 + "/a/b") for line in path[1:])
    assert drawn(FieldGrid(short, 5), 80)[0].split() == ["type", "forked", "state", "idle", "exit", "0", "pid", "42"]
    assert len(drawn(FieldGrid(fields, 5), 24)) > len(lines)  # narrow: one field a line
