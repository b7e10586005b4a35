"""One destroy per session in the console: `d y d y` pressed quickly, and `D` while a destroy runs."""

from __future__ import annotations

import threading

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.dialogs import ConfirmDialog
from kugetsu_tui.console.messages import ActionDone
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.lifecycle import archive
from kugetsu_tui.lifecycle.archive import list_archive
from tests.helpers import Messages, wait_until

DONE = "github.com-acme-widgets-12"  # the demo's finished issue: D offers to clean it up


def loaded(app: KugetsuConsole, count: int):
    return lambda: len(app.model.views) == count and app.main_screen.table.row_count >= count


def held_destroys(monkeypatch) -> tuple[threading.Event, list[str]]:
    """destroy_session waits for the event before it runs: the test sees the console mid-destroy."""
    gate, calls = threading.Event(), []
    real = archive.destroy_session

    def held(home, name, **kwargs):
        calls.append(name)
        assert gate.wait(30)
        return real(home, name, **kwargs)

    monkeypatch.setattr(archive, "destroy_session", held)
    return gate, calls


def state_cell(app: KugetsuConsole, name: str) -> str:
    cells = app.query_one(SessionTable).cells(name)
    return "" if cells is None else cells["state"].plain


async def test_d_y_d_y_pressed_quickly_destroys_once_and_undo_names_a_whole_entry(demo_home: Home, monkeypatch) -> None:
    gate, calls = held_destroys(monkeypatch)
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(140, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(DONE))
        await pilot.press("d", "y", "d", "y", "c")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)  # the second d and the c were refused, no dialog
        assert state_cell(app, DONE) == "destroying…"
        assert messages.notified("is being destroyed already")
        gate.set()
        await wait_until(pilot, lambda: DONE not in app.model.views, what="the destroy")
        assert calls == [DONE]
        await wait_until(pilot, lambda: app.model.can_undo, what="the destroy to be undoable")
        (entry,) = list_archive(demo_home)
        assert entry.missing() == [] and app.model.next_undo == [entry.id]
        await pilot.press("u")
        await wait_until(pilot, lambda: [m for m in messages.of(ActionDone) if m.action == "restore"], what="undo")
        assert demo_home.session_path(DONE).exists() and list_archive(demo_home) == []


async def test_D_while_a_destroy_runs_leaves_that_session_to_it(demo_home: Home, monkeypatch) -> None:
    gate, calls = held_destroys(monkeypatch)
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(140, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(DONE))
        await pilot.press("d", "y")
        await pilot.pause()
        assert state_cell(app, DONE) == "destroying…"
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the clean-up confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: messages.notified("is being destroyed already"), what="the refusal")
        gate.set()
        await wait_until(pilot, lambda: DONE not in app.model.views, what="the destroy")
        await pilot.pause(0.3)
        assert calls == [DONE] and len(list_archive(demo_home)) == 1
