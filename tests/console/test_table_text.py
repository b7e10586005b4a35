"""What the table says at 120 and 80 columns: reasons and activities in few words, whole when there is room,
the Activity column kept (short) at 80, the full text in the preview; and what a filter says of itself."""

from __future__ import annotations

import json

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.preview import SessionPreview
from kugetsu_tui.console.session_table import FILTER_PLACEHOLDER
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from tests.helpers import screen_lines, wait_until, write_session

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


async def test_the_previews_log_is_indented_like_its_title(static_home: Home) -> None:
    static_home.ensure(static_home.logs_dir)
    static_home.log_path(ASKING).write_text("words of the agent\n")
    app = console(static_home)
    async with app.run_test(size=(120, 32)) as pilot:
        await show(app, pilot)
        table = app.main_screen.table
        table.move_cursor(table.row_index(ASKING))
        await pilot.press("p")
        await wait_until(pilot, lambda: any("words of the agent" in line for line in screen_lines(app)))
        lines = screen_lines(app)
        title = next(line for line in lines if "agent output" in line)
        words = next(line for line in lines if "words of the agent" in line)
        assert words.index("words of the agent") == title.index("agent output")


async def filtered(app: KugetsuConsole, pilot, text: str, *keys: str) -> list[str]:
    await pilot.press("slash", *text, *keys)
    await pilot.pause(0.1)
    return screen_lines(app)


async def test_a_filter_that_hides_every_row_says_so_and_a_kept_filter_is_named(static_home: Home) -> None:
    app = console(static_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await show(app, pilot)
        lines = await filtered(app, pilot, "[b]zz", "enter")
        assert app.main_screen.table.row_count == 0
        assert any("no rows match “[b]zz”" in line for line in lines)
        assert any("filter: [b]zz · Esc clears" in line for line in lines)  # literal: not markup
        assert not app.main_screen.filter_box.display  # the box gave way to the label
        await pilot.press("escape")
        await pilot.pause(0.1)
        lines = screen_lines(app)
        assert app.main_screen.table.row_count == 5
        assert not any("filter:" in line or "no rows match" in line for line in lines)


async def test_the_filter_placeholder_names_every_field_the_filter_looks_in(static_home: Home) -> None:
    write_session(
        static_home,
        "github.com-acme-widgets-20",
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#20",
            "opencode_session_id": "ses_unique20",
            "state": "timeout",
            "branch_name": "fix/zebra",
            "model": "unshown-field",
            "created_at": "2026-01-01T00:00:00+00:00",
        },
    )
    work = {"state": "open", "source": "forge", "detail": "PR #77 open", "url": None, "checked_at": None}
    entry = {"issue_ref": "github.com/acme/widgets#20", "created_at": "2026-01-01T00:00:00+00:00", "work": work}
    static_home.root.joinpath("work.json").write_text(json.dumps({"sessions": {"github.com-acme-widgets-20": entry}}))
    app = console(static_home)
    # One text per field, each found in this one row only (the work and activity are set below).
    fields = {
        "name": "widgets-20",
        "issue": "widgets#20",
        "state": "timeout",
        "work": "#77",
        "branch": "zebra",
        "activity": "retry",
        "kind": "base",
        "id": "ses_unique20",
    }
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_until(pilot, lambda: app.main_screen.table.row_count == 6, what="every row")
        session = app.model.views["github.com-acme-widgets-20"].session
        await wait_until(pilot, lambda: app.model.work(app.model.views[session.name]).label == "PR #77 open")
        app.model.set_activities({session.name: ActivityInfo(Activity.RETRY, "attempt 2")})
        app.main_screen.sessions_changed()
        for field, text in fields.items():
            assert field in FILTER_PLACEHOLDER
            await pilot.press("escape", "slash", *text)
            await pilot.pause()
            expected = ["base"] if field == "kind" else [session.name]
            assert app.main_screen.table.shown_names == expected, field
        await pilot.press("escape", "slash", *"unshown-field")
        await pilot.pause()
        assert app.main_screen.table.row_count == 0  # a field the placeholder does not name is not looked in
