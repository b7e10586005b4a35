"""The console's work status, clean-up, marks and queue: keys a user presses, outcomes on disk."""

from __future__ import annotations

import webbrowser

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.dialogs import ConfirmDialog, StartDialog
from kugetsu_tui.console.messages import ActionDone
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.lifecycle.archive import list_archive
from kugetsu_tui.queue.items import list_items
from kugetsu_tui.queue.manage import enqueue
from tests.helpers import Messages, set_limit, wait_until

DONE = "github.com-acme-widgets-12"  # the demo's finished issue: its branch is merged into main
OPEN = "github.com-acme-widgets-15"


def loaded(app: KugetsuConsole, count: int):
    return lambda: len(app.model.views) == count and app.main_screen.table.row_count >= count


def cell(app: KugetsuConsole, key: str, column: str) -> str:
    cells = app.query_one(SessionTable).cells(key)
    return "" if cells is None else cells[column].plain


def done_actions(messages: Messages, action: str) -> list[str]:
    return [m.text for m in messages.of(ActionDone) if m.action == action]


async def test_work_column_and_footer_show_done_work_and_D_cleans_it_up_undoably(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(140, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await wait_until(pilot, lambda: cell(app, DONE, "work") == "merged", what="the background check")
        assert cell(app, OPEN, "work") == "open" and cell(app, DONE, "branch") == "fix/issue-12"
        assert "1 done" in str(app.query_one("CapacityBar").content)  # type: ignore[attr-defined]
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the clean-up confirmation")
        body = app.screen.body  # type: ignore[attr-defined]
        assert "github.com/acme/widgets#12" in body and "into main" in body and "#15" not in body
        await pilot.press("y")
        await wait_until(pilot, lambda: done_actions(messages, "clean up"), what="the clean-up")
        assert not demo_home.session_path(DONE).exists() and demo_home.session_path(OPEN).exists()
        assert [e.session_name for e in list_archive(demo_home)] == [DONE]
        await pilot.press("u")
        await wait_until(pilot, lambda: done_actions(messages, "restore"), what="the undo")
        assert demo_home.session_path(DONE).exists() and list_archive(demo_home) == []


async def test_marked_rows_are_destroyed_together_and_restored_together(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(140, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        for name in (DONE, OPEN):
            table.move_cursor(table.row_index(name))
            await pilot.press("m")
        await pilot.pause()
        assert cell(app, DONE, "mark") == "●" and cell(app, OPEN, "mark") == "●"
        table.move_cursor(row=0)  # on base: d still acts on the marks, never on base
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and "marked" in app.screen.title_text
        bullets = [line for line in app.screen.body.splitlines() if line.startswith("• ")]
        assert bullets == [
            f"• {ref}: {app.model.views[n].shown_state}"
            for n, ref in ((DONE, "github.com/acme/widgets#12"), (OPEN, "github.com/acme/widgets#15"))
        ]
        await pilot.press("y")
        await wait_until(pilot, lambda: done_actions(messages, "destroy"), what="the batch destroy")
        assert sorted(e.session_name for e in list_archive(demo_home)) == [DONE, OPEN]
        assert demo_home.session_path("base").exists() and app.model.marked == set()
        await pilot.press("u")
        await wait_until(pilot, lambda: done_actions(messages, "restore"), what="the batch undo")
        assert demo_home.session_path(DONE).exists() and demo_home.session_path(OPEN).exists()


async def test_o_opens_the_issue_and_shows_its_url(demo_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []

    def no_browser(url: str) -> bool:
        opened.append(url)
        return False

    monkeypatch.setattr(webbrowser, "open", no_browser)
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(140, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(OPEN))
        await pilot.press("o")
        await pilot.pause()
        assert opened == ["https://github.com/acme/widgets/issues/15"]
        assert messages.notified("https://github.com/acme/widgets/issues/15")


async def test_at_capacity_s_queues_the_work_and_the_queue_shows_as_rows(demo_home: Home) -> None:
    set_limit(demo_home, 3)  # 3 dev sessions already: full
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(140, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, StartDialog) and app.screen.queue_because
        await pilot.press(*"acme/widgets#30", "tab", *"later please", "enter")
        await wait_until(pilot, lambda: done_actions(messages, "queue"), what="the queueing")
        [item] = list_items(demo_home)
        assert item.issue_ref == "github.com/acme/widgets#30" and item.state == "pending"
        key = f"queue/{item.id}"
        await wait_until(pilot, lambda: key in app.query_one(SessionTable).shown_names, what="the queued row")
        assert cell(app, key, "state") == "queued #1" and cell(app, key, "kind") == "queue"
        assert "1 queued" in str(app.query_one("CapacityBar").content)  # type: ignore[attr-defined]
        second = enqueue(demo_home, "acme/widgets#31", "also").item
        second_key = f"queue/{second.id}"
        await wait_until(pilot, lambda: second_key in app.query_one(SessionTable).shown_names)
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(second_key))
        await pilot.press("f")
        await wait_until(pilot, lambda: cell(app, second_key, "state") == "queued #1", what="move to front")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and "Remove queued" in app.screen.title_text
        await pilot.press("y")
        await wait_until(pilot, lambda: [i.id for i in list_items(demo_home)] == [item.id], what="the removal")


async def test_the_console_drains_the_queue_when_a_slot_frees(demo_home: Home) -> None:
    set_limit(demo_home, 3)
    enqueue(demo_home, "acme/widgets#40", "go")
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(140, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        assert demo_home.session_path("github.com-acme-widgets-40").exists() is False
        demo_home.session_path(OPEN).unlink()  # a slot frees
        await wait_until(
            pilot,
            lambda: demo_home.session_path("github.com-acme-widgets-40").exists(),
            what="the queued item to start",
        )
        await wait_until(pilot, lambda: messages.notified("started github.com/acme/widgets#40 from the queue"))
        assert not messages.notified("github.com-acme-widgets-40")  # one way of naming it, the ref
        assert app.model.active <= 3
