"""Keys typed faster than the console draws (a fast typist, a paste, tmux send-keys) land where they were meant.

Pilot's `press` waits for the app to be idle after every key, which hides the race: these tests post
the whole burst at once, as a terminal delivers it.
"""

from __future__ import annotations

from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.dialogs import MessageDialog, StartDialog
from kugetsu_tui.console.session_table import SessionTable
from tests.helpers import wait_until

IDLE = "github.com-acme-widgets-12"


def burst(app: KugetsuConsole, *keys: str) -> None:
    """Post every key at once, without waiting for any to be handled: what a terminal's read delivers."""
    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        app.post_message(events.Key(name, key if len(key) == 1 else "\t" if key == "tab" else None))


def fields(app: KugetsuConsole) -> tuple[str, str]:
    return app.screen.query_one("#ref", Input).value, app.screen.query_one("#message", Input).value


def loaded(app: KugetsuConsole):
    return lambda: len(app.model.views) == 5 and app.query_one(SessionTable).row_count == 5


async def test_keys_typed_right_after_s_fill_the_start_dialog_field_by_field(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app))
        burst(app, "s", *"acme/widgets#7", "tab", *"hello")
        await wait_until(pilot, lambda: isinstance(app.screen, StartDialog) and fields(app)[1] == "hello")
        assert fields(app) == ("acme/widgets#7", "hello")


async def test_enter_in_the_ref_field_moves_on_before_the_next_key_is_read(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app))
        burst(app, "s", *"acme/widgets#8", "enter", *"fix")
        await wait_until(pilot, lambda: isinstance(app.screen, StartDialog) and fields(app)[1] == "fix")
        assert fields(app) == ("acme/widgets#8", "fix")


async def test_a_paste_of_ref_tab_message_right_after_s_fills_both_fields(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app))
        burst(app, "s")
        app.post_message(events.Paste("acme/widgets#7\thello there"))
        await wait_until(pilot, lambda: isinstance(app.screen, StartDialog) and fields(app)[1] == "hello there")
        assert fields(app) == ("acme/widgets#7", "hello there")
        assert app.screen.focused is app.screen.query_one("#message", Input)


async def test_a_message_typed_right_after_c_is_the_continue_dialogs(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app))
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(IDLE))
        await pilot.pause()
        burst(app, "c", *"go on")
        await wait_until(pilot, lambda: isinstance(app.screen, MessageDialog))
        await wait_until(pilot, lambda: app.screen.query_one(Input).value == "go on")


async def test_s_typed_in_the_filter_box_is_the_filters(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app))
        await pilot.press("slash", *"sc")
        await pilot.pause()
        assert not isinstance(app.screen, (StartDialog, MessageDialog))
        assert app.screen.query_one("#filter", Input).value == "sc"


async def test_enter_typed_with_the_rest_submits_what_was_typed_before_it(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, loaded(app))
        burst(app, "s", *"github.com/acme/widgets#30", "tab", *"go", "enter")
        await wait_until(pilot, lambda: "github.com-acme-widgets-30" in app.model.views, what="the start")
        assert not isinstance(app.screen, StartDialog)


async def test_keys_typed_right_after_slash_go_into_the_filter_and_trigger_nothing(demo_home: Home) -> None:
    """`/run` typed at once: without the filter taking keys as it opens, `u` reached the table (undo)."""
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app))
        burst(app, "slash", *"run")
        box = app.main_screen.filter_box
        await wait_until(pilot, lambda: box.value == "run", what=f"the filter to read 'run' (it reads {box.value!r})")
        assert app.focused is box
        burst(app, *"/x")  # while the filter has the focus, `/` is a character of it
        await wait_until(
            pilot, lambda: box.value == "run/x", what=f"'/' typed into the filter (it reads {box.value!r})"
        )
