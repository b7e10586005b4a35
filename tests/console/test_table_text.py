"""What the table's cells say at 120 and 80 columns: reasons and activities in few words, whole when there is
room, the Activity column kept (short) at 80, and the full text in the preview."""

from __future__ import annotations

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.preview import SessionPreview
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from tests.helpers import screen_lines, wait_until

ASKING = "github.com-acme-widgets-12"
ASK = ActivityInfo(Activity.NEEDS_INPUT, "permission edit: src/app.py (per_1)")


def console(home: Home) -> KugetsuConsole:
    return KugetsuConsole(home, sample_processes=False, check_work=False, follow_activity=False)


async def show(app: KugetsuConsole, pilot) -> list[str]:
    await wait_until(pilot, lambda: app.main_screen.table.row_count == 5, what="every row")
    app.model.set_activities({ASKING: ASK})
    app.main_screen.sessions_changed()
    await pilot.pause(0.1)
    return screen_lines(app)


def line_of(lines: list[str], ref: str) -> str:
    return next(line for line in lines if ref in line)


async def test_at_120_columns_the_reasons_show_whole(static_home: Home) -> None:
    app = console(static_home)
    async with app.run_test(size=(120, 32)) as pilot:
        lines = await show(app, pilot)
        assert "failed: exit status 1 " in line_of(lines, "widgets#15")
        assert "corrupt: invalid JSON " in line_of(lines, "widgets-16")  # its reason's head; the rest in the preview
        assert "needs_input: permission edit " in line_of(lines, "widgets#12")
        assert "Activity" in lines[1] and "…" not in "".join(lines[:8])


async def test_at_80_columns_the_activity_stays_in_a_word(static_home: Home) -> None:
    app = console(static_home)
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await show(app, pilot)
        assert "Doing" in lines[1] and "Age" in lines[1]
        assert " asking " in line_of(lines, "widgets#12")


@pytest.mark.parametrize("size", [(120, 32), (80, 24)])
async def test_the_preview_says_the_reason_and_the_activity_whole(static_home: Home, size: tuple[int, int]) -> None:
    app = console(static_home)
    async with app.run_test(size=size) as pilot:
        await show(app, pilot)
        preview = app.query_one(SessionPreview)
        table = app.main_screen.table
        table.move_cursor(table.row_index(ASKING))
        await pilot.press("p")
        await wait_until(
            pilot, lambda: "activity: needs_input: permission edit: src/app.py (per_1)" in preview.summary_text
        )
        table.move_cursor(table.row_index("github.com-acme-widgets-16"))
        await wait_until(
            pilot, lambda: "reason: invalid JSON: Expecting value (line 1, column 33)" in preview.summary_text
        )
