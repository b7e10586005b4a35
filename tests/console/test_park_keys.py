"""`P` parks the selected idle dev session and resumes a parked one; parked sessions are rows of their own kind;
where it cannot act, `P` says why in one line, and the footer's key carries the reason."""

from __future__ import annotations

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.lifecycle.park import park_session
from kugetsu_tui.sessions.parked import parked_path
from tests.console.test_refusals import notes, on_row, press_and_get_one_notification
from tests.helpers import Messages, screen_lines, set_limit, wait_until, write_session

IDLE = "github.com-acme-widgets-12"
FAILED = "github.com-acme-widgets-15"
PARKED_KEY = f"parked/{IDLE}"


def cell(app: KugetsuConsole, key: str, column: str) -> str:
    cells = app.query_one(SessionTable).cells(key)
    return "" if cells is None else cells[column].plain


def console(home: Home) -> KugetsuConsole:
    return KugetsuConsole(home, sample_processes=False, check_work=False, follow_activity=False)


async def test_P_parks_an_idle_session_into_a_row_of_its_own_and_P_there_resumes_it(static_home: Home) -> None:
    app = console(static_home)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await on_row(app, pilot, IDLE)
        active = app.model.active
        await pilot.press("P")
        table = app.query_one(SessionTable)
        await wait_until(pilot, lambda: PARKED_KEY in table.shown_names and IDLE not in table.shown_names, what="park")
        assert parked_path(static_home, IDLE).exists() and not static_home.session_path(IDLE).exists()
        assert cell(app, PARKED_KEY, "kind") == "park" and cell(app, PARKED_KEY, "state") == "parked"
        assert cell(app, PARKED_KEY, "ref") == "github.com/acme/widgets#12"
        assert app.model.active == active - 1
        assert table.row_index(PARKED_KEY) > table.row_index("github.com-acme-widgets-16")  # after the dev rows
        await wait_until(pilot, lambda: messages.notified("parked github.com/acme/widgets#12"))  # may follow the row
        await on_row(app, pilot, PARKED_KEY)
        await pilot.press("P")
        await wait_until(
            pilot, lambda: IDLE in table.shown_names and PARKED_KEY not in table.shown_names, what="resume"
        )
        assert static_home.session_path(IDLE).exists() and not parked_path(static_home, IDLE).exists()
        await wait_until(pilot, lambda: messages.notified("resumed github.com/acme/widgets#12"))
        assert app.model.active == active


async def test_P_says_why_it_cannot_park_base_a_corrupt_or_running_session_nor_resume_at_capacity(
    static_home: Home,
) -> None:
    write_session(static_home, "github.com-acme-widgets-30", issue_ref="github.com/acme/widgets#30", state="running")
    park_session(static_home, FAILED, waiting=lambda s: None, activity=lambda s: None)
    app = console(static_home)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await on_row(app, pilot, "base")
        footer_p = app.screen.active_bindings["P"]
        assert footer_p.enabled is False and "only dev sessions" in footer_p.tooltip
        said = await press_and_get_one_notification(app, pilot, messages, "P")
        assert said == "cannot park base: only dev sessions are parked, not the base session"
        await on_row(app, pilot, "github.com-acme-widgets-16")
        assert "its file is unusable" in await press_and_get_one_notification(app, pilot, messages, "P")
        await on_row(app, pilot, "github.com-acme-widgets-30")
        assert "its agent is running" in await press_and_get_one_notification(app, pilot, messages, "P")
        set_limit(static_home, 1)
        await wait_until(pilot, lambda: app.model.limit.value == 1, what="the new limit")
        await on_row(app, pilot, f"parked/{FAILED}")
        said = await press_and_get_one_notification(app, pilot, messages, "P")
        assert said.startswith(f"Cannot resume {FAILED}: maximum concurrent agents (1) reached")
        assert parked_path(static_home, FAILED).exists()
        assert len(notes(messages)) == 4


async def test_a_parked_row_has_details_is_filtered_by_parked_and_cannot_be_marked(static_home: Home) -> None:
    from kugetsu_tui.console.details import DetailsScreen

    park_session(static_home, IDLE, waiting=lambda s: None, activity=lambda s: None)
    app = console(static_home)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await on_row(app, pilot, PARKED_KEY)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen), what="the details")
        await pilot.pause(0.2)
        text = "\n".join(screen_lines(app))
        assert "dev, parked" in text and f"parked/{IDLE}.json" in text
        await pilot.press("escape")
        await pilot.pause()
        said = await press_and_get_one_notification(app, pilot, messages, "m")
        assert "a parked session holds no slot" in said and app.model.marked == set()
        await pilot.press("slash", *"parked", "enter")
        table = app.query_one(SessionTable)
        await wait_until(pilot, lambda: list(table.shown_names) == [PARKED_KEY], what="the filter")


async def test_the_console_applies_park_idle_after_and_says_what_it_parked(static_home: Home) -> None:
    import os
    import time

    hours_ago = time.time() - 5 * 3600
    os.utime(static_home.session_path(IDLE), (hours_ago, hours_ago))
    os.utime(static_home.session_path(FAILED), (hours_ago, hours_ago))  # failed: not idle, never parked
    static_home.config_toml.write_text(static_home.config_toml.read_text() + '\n[capacity]\npark_idle_after = "2h"\n')
    app = console(static_home)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await on_row(app, pilot, IDLE)
        app.apply_park_policy()  # what the tick runs every PARK_POLICY_EVERY seconds
        table = app.query_one(SessionTable)
        await wait_until(pilot, lambda: PARKED_KEY in table.shown_names, what="the policy's park")
        # The row can come first (the watcher sees the rename before the policy's worker says what it did).
        await wait_until(pilot, lambda: messages.notified(f"parked {IDLE} (idle 5h): [capacity] park_idle_after"))
        assert sorted(os.listdir(static_home.parked_dir)) == [f"{IDLE}.json"]


async def test_c_on_a_parked_row_at_capacity_offers_to_queue_its_resume(
    static_home: Home,
) -> None:
    from kugetsu_tui.console.dialogs import MessageDialog
    from kugetsu_tui.queue.items import list_items

    park_session(static_home, IDLE, waiting=lambda s: None, activity=lambda s: None)
    set_limit(static_home, 1)
    static_home.config_toml.write_text(static_home.config_toml.read_text() + "\n[queue]\ndrain = false\n")
    app = console(static_home)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await on_row(app, pilot, PARKED_KEY)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, MessageDialog), what="the message dialog")
        assert "maximum concurrent agents (1) reached" in app.screen.title_text  # type: ignore[attr-defined]
        await pilot.press(*"go on", "enter")
        await wait_until(pilot, lambda: messages.notified("queued the resume of github.com/acme/widgets#12"))
        (item,) = list_items(static_home)
        assert item.issue_ref == "github.com/acme/widgets#12" and item.message == "go on"
        assert parked_path(static_home, IDLE).exists()
