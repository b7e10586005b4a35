"""The capacity view (C, or a click on the footer's figure) and the footer's `· N idle`, at 80 columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from textual.widgets import Static

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.capacity import CapacityBar
from kugetsu_tui.console.capacity_view import CapacityScreen
from kugetsu_tui.sessions import ledger
from kugetsu_tui.sessions.activities import Activity
from kugetsu_tui.sessions.ledger import Event
from tests.console.test_footer import in_view
from tests.helpers import FIXED_NOW, screen_lines, wait_until, write_session

IDLE = "github.com-acme-widgets-30"
MERGED_WORK = {"state": "merged", "source": "git", "detail": "merged", "url": None, "checked_at": None}


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def idle_home(home: Home) -> None:
    """A dev session idle for three hours whose branch is merged (as the work cache says), and a ledger."""
    write_session(
        home,
        IDLE,
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#30",
            "opencode_session_id": "ses_dev30000000000000000000",
            "created_at": iso(FIXED_NOW - 10 * 3600),
            "state": "idle",
            "finished_at": iso(FIXED_NOW - 3 * 3600),  # idle for three hours
        },
    )
    session = json.loads(home.session_path(IDLE).read_text())
    (home.root / "work.json").write_text(
        json.dumps(
            {
                "sessions": {
                    IDLE: {"issue_ref": session["issue_ref"], "created_at": session["created_at"], "work": MERGED_WORK}
                }
            }
        )
    )
    refused = ledger.encode_line(Event.REFUSED_AT_CAPACITY, "github.com-acme-widgets-31", 3, 3, {}, FIXED_NOW - 600)
    (home.root / ledger.LEDGER_FILE).write_bytes(refused)


def console(home: Home) -> KugetsuConsole:
    return KugetsuConsole(
        home, clock=lambda: FIXED_NOW, sample_processes=False, check_work=False, follow_activity=False
    )


def shown(app: KugetsuConsole, widget_id: str) -> str:
    return str(app.screen.query_one(f"#{widget_id}", Static).render())


async def test_the_footer_counts_idle_holders_and_keeps_help_and_quit_at_80_columns(static_home: Home) -> None:
    idle_home(static_home)
    app = console(static_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: IDLE in app.model.views, what="the rows")
        for _ in range(5):  # the idle count is taken every fifth tick
            app.tick()
        await wait_until(pilot, lambda: "· 1 idle" in str(app.screen.query_one(CapacityBar).render()))
        await pilot.pause()  # the footer's keys laid out after the figure grew
        assert {"help", "app.quit"} <= in_view(app)


async def test_no_idle_figure_while_nobody_is_idle_that_long(static_home: Home) -> None:
    app = console(static_home)  # #12 went idle ten minutes before FIXED_NOW: under idle_after's 30 minutes
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(app.model.views) == 5, what="the rows")
        for _ in range(5):
            app.tick()
        await pilot.pause()
        assert "idle" not in str(app.screen.query_one(CapacityBar).render())
        assert app.model.idle == 0


async def test_C_opens_the_view_with_holders_today_and_the_suggestion(static_home: Home) -> None:
    idle_home(static_home)
    app = console(static_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: IDLE in app.model.views, what="the rows")
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, CapacityScreen) and app.screen.report is not None)
        head = shown(app, "capacity-head")
        assert head.startswith("4/3 active · 0 queued · 0 parked · 1 idle over 30m"), head
        await pilot.pause()
        (row,) = [line for line in screen_lines(app) if "github.com/acme/widgets#30" in line]
        assert row.split()[2:5] == ["idle", "3h", "10h"] and "merged" in row, row  # for, held, what freeing costs
        today = shown(app, "capacity-today")
        assert "refusals at capacity 1" in today
        assert "longest idle holder github.com/acme/widgets#30 (3h)" in today
        suggestion = shown(app, "capacity-suggestion")
        assert "1 slot held by sessions idle over 30m whose work is done" in suggestion
        assert "D frees them" in suggestion
        assert not app.screen.query_one("#capacity-cluster", Static).display  # one host: no other hosts' part
        await pilot.press("escape")
        assert not isinstance(app.screen, CapacityScreen)


async def test_clicking_the_footer_figure_opens_the_view(static_home: Home) -> None:
    app = console(static_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(app.model.views) == 5, what="the rows")
        await pilot.click(CapacityBar)
        await wait_until(pilot, lambda: isinstance(app.screen, CapacityScreen), what="the capacity view")
        await pilot.press("C")
        assert not isinstance(app.screen, CapacityScreen)


async def test_text_from_the_files_is_shown_literally(static_home: Home) -> None:
    write_session(
        static_home,
        "github.com-acme-widgets-40",
        {"type": "forked", "issue_ref": "[bold red]github.com/acme/widgets#40\x1b[2J", "state": "running"},
    )
    app = console(static_home)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_until(pilot, lambda: "github.com-acme-widgets-40" in app.model.views, what="the rows")
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, CapacityScreen) and app.screen.report is not None)
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "[bold red]github.com/acme…" in text and "\x1b" not in text  # as written, cut to its column


async def test_an_activity_the_console_sees_goes_into_the_ledger_for_holders_only(static_home: Home) -> None:
    app = console(static_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(app.model.views) == 5, what="the rows")
        app.record_activity(
            [("github.com-acme-widgets-12", Activity.NEEDS_INPUT), ("github.com-gone-1", Activity.BUSY)]
        )
        await wait_until(pilot, lambda: ledger.read_events(static_home), what="the ledger line")
        (line,) = ledger.read_events(static_home)
        assert (line["event"], line["session"], line["activity"]) == (
            "activity_changed",
            "github.com-acme-widgets-12",
            "needs_input",
        )
        assert (line["active"], line["limit"]) == (3, 3)  # counted under the lock, as the core counts
