"""Keys that cannot act on the row under the cursor say why at once (one notification), dimmed in the
footer with the reason on the key; on a queued row, Enter and p show the queued item instead."""

from __future__ import annotations

import os

from textual.notifications import Notify
from textual.screen import ModalScreen

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import start_time
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.preview import SessionPreview
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.queue.manage import enqueue
from tests.helpers import Messages, set_limit, wait_until, write_session

IDLE = "github.com-acme-widgets-12"
CORRUPT = "github.com-acme-widgets-16"
RUNNING = "github.com-acme-widgets-30"


def notes(messages: Messages) -> list[str]:
    return [n.notification.message for n in messages.of(Notify)]


async def on_row(app: KugetsuConsole, pilot, key: str) -> None:
    await wait_until(pilot, lambda: key in app.query_one(SessionTable).shown_names, what=f"the row {key}")
    table = app.query_one(SessionTable)
    table.move_cursor(table.row_index(key))
    await pilot.pause()


async def press_and_get_one_notification(app: KugetsuConsole, pilot, messages: Messages, key: str) -> str:
    before = len(notes(messages))
    await pilot.press(key)
    await wait_until(pilot, lambda: len(notes(messages)) > before, what=f"what {key} says")
    await pilot.pause(0.1)
    assert not isinstance(app.screen, ModalScreen), f"{key} opened {app.screen}"
    [said] = notes(messages)[before:]
    return said


async def test_keys_on_a_queued_row_say_what_it_is_or_why_not(static_home: Home) -> None:
    set_limit(static_home, 3)
    item = enqueue(static_home, "acme/widgets#30", "later please").item
    key = f"queue/{item.id}"
    app = KugetsuConsole(static_home, sample_processes=False, check_work=False, follow_activity=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await on_row(app, pilot, key)
        footer_c = app.screen.active_bindings["c"]
        assert footer_c.enabled is False and "is queued" in footer_c.tooltip
        said = await press_and_get_one_notification(app, pilot, messages, "c")
        assert "github.com/acme/widgets#30 is queued: no session to continue yet" == said
        said = await press_and_get_one_notification(app, pilot, messages, "enter")
        assert "github.com/acme/widgets#30: queued #1" in said and "message: later please" in said
        said = await press_and_get_one_notification(app, pilot, messages, "p")
        assert "message: later please" in said
        assert not app.query_one(SessionPreview).has_class("shown")  # no empty pane
        said = await press_and_get_one_notification(app, pilot, messages, "m")
        assert "is queued: nothing to mark yet" in said


async def test_f_on_a_session_row_says_it_moves_queued_items_only(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False, check_work=False, follow_activity=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await on_row(app, pilot, IDLE)
        said = await press_and_get_one_notification(app, pilot, messages, "f")
        assert "f moves a queued item to the queue's front: this row is not queued" == said


async def test_c_on_a_corrupt_or_running_session_is_refused_before_any_dialog(static_home: Home) -> None:
    log = static_home.log_path(RUNNING)
    static_home.ensure(static_home.logs_dir)
    log.write_text("")
    write_session(  # a running agent: this test's own process, with its start time (so it counts as alive)
        static_home,
        RUNNING,
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#30",
            "state": "running",
            "pid": os.getpid(),
            "pid_started": start_time(os.getpid()),
            "log": str(log),
            "opencode_session_id": "ses_30",
        },
    )
    set_limit(static_home, 9)
    app = KugetsuConsole(static_home, sample_processes=False, check_work=False, follow_activity=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await on_row(app, pilot, CORRUPT)
        assert app.screen.active_bindings["c"].enabled is False
        said = await press_and_get_one_notification(app, pilot, messages, "c")
        assert said.startswith(f"cannot continue {CORRUPT}: its file is unusable")
        await on_row(app, pilot, RUNNING)
        said = await press_and_get_one_notification(app, pilot, messages, "c")
        assert said == f"cannot continue {RUNNING}: its agent is still running (pid {os.getpid()})"
        await on_row(app, pilot, IDLE)
        assert app.screen.active_bindings["c"].enabled is True  # the footer follows the cursor


async def test_at_capacity_s_opens_the_queue_dialog_that_says_why_with_no_toast_over_it(static_home: Home) -> None:
    from kugetsu_tui.console.dialogs import StartDialog

    app = KugetsuConsole(static_home, sample_processes=False, check_work=False, follow_activity=False)
    messages = Messages()
    async with app.run_test(size=(80, 24), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: app.model.full and len(app.model.views) == 5)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, StartDialog))
        await pilot.pause(0.2)
        dialog = app.screen
        assert isinstance(dialog, StartDialog)
        assert "maximum concurrent agents (3) reached" in (dialog.queue_because or "")
        assert notes(messages) == [] and not app.query("Toast")
