"""The `?` help screen: keys from the screen's own bindings, every state in its colour, the footer figure."""

from __future__ import annotations

import io
from functools import partial
from typing import Any, ClassVar

from rich.console import Console
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.help_screen import HelpScreen, key_display, key_rows, state_rows
from kugetsu_tui.console.main_screen import MainScreen
from kugetsu_tui.console.rows import STATE_STYLES
from kugetsu_tui.sessions.activities import MEANINGS as ACTIVITY_MEANINGS
from kugetsu_tui.sessions.states import MEANINGS, State
from tests.helpers import FIXED_NOW, Messages, wait_until


def shown_text(screen: HelpScreen, widget_id: str) -> str:
    console = Console(width=110, record=True, file=io.StringIO())
    console.print(screen.query_one(f"#{widget_id}", Static).content)
    return console.export_text()


class SomeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "frobnicate", "Frobnicate the widgets"),
        Binding("home,g", "first", "First row", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Static("body")


class SomeApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(SomeScreen())


async def test_a_key_bound_on_the_screen_appears_by_itself_with_all_its_keys() -> None:
    app = SomeApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SomeScreen))
        app.push_screen(HelpScreen(app.screen))
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen.query("#help-footer"))
        assert isinstance(app.screen, HelpScreen)
        keys = shown_text(app.screen, "help-keys")
        assert "Frobnicate the widgets" in keys
        first_row = next(line for line in keys.splitlines() if "First row" in line)
        assert "home" in first_row.lower() and "g" in first_row.split("First row")[0]
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, SomeScreen))


async def test_the_console_help_lists_its_keys_states_activities_and_what_the_footer_counts(
    static_home: Home,
) -> None:
    app = KugetsuConsole(static_home, clock=lambda: FIXED_NOW, sample_processes=False)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen.query("#help-footer"))
        help_screen: Any = app.screen
        keys = shown_text(help_screen, "help-keys")
        for description in ("Start a dev session", "Send the selected session a message", "Raise the limit", "Quit"):
            assert description in keys
        assert "Raw log lines" in shown_text(help_screen, "help-details-keys")  # r, in the details pane
        states = shown_text(help_screen, "help-states")
        for state, meaning in MEANINGS.items():
            assert state.value in states and meaning.split()[0] in states
        activities = shown_text(help_screen, "help-activities")
        for activity, meaning in ACTIVITY_MEANINGS.items():
            assert activity.value in activities and meaning.split()[0] in activities
        footer = shown_text(help_screen, "help-footer")
        assert "base.json" in footer and "pm-agent.json" in footer and "whatever their state" in footer
        assert "MAX_CONCURRENT_AGENTS" in footer and "Now: 3, from" in footer
        for figure in ("N done", "N queued", "(N need you)"):
            assert figure in footer
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is main)


async def test_help_lists_every_key_of_ours_once_and_none_of_textuals_generic_keys(static_home: Home) -> None:
    app = KugetsuConsole(static_home, clock=lambda: FIXED_NOW, sample_processes=False)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.main_screen
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen.query("#help-footer"))
        help_screen: Any = app.screen
        rows = key_rows(main)
        listed = [key for keys, _ in rows for key in keys.split(", ")]
        assert len(listed) == len(set(listed)), listed  # each key once (s was listed for start and for queue)
        ours = [b for b in Binding.make_bindings(MainScreen.BINDINGS) if isinstance(b, Binding)]
        for binding in ours:
            assert key_display(app, binding) in listed, binding
        assert {"enter", "↑", "↓"} <= set(listed)  # Enter (details) and the table's cursor keys are ours too
        for generic in ("tab", "shift+tab", "ctrl+c", "ctrl+q", "^p", "ctrl+p"):
            assert app.get_key_display(Binding(generic, "x")) not in listed, generic
        whole = "".join(shown_text(help_screen, w.id) for w in help_screen.query(Static) if w.id)
        assert whole.count("ctrl+p") == 1  # the palette is named once, outside the key table


async def test_every_key_is_whole_in_its_column_and_none_is_a_symbol_drawn_wider_than_its_cell(
    static_home: Home,
) -> None:
    app = KugetsuConsole(static_home, clock=lambda: FIXED_NOW, sample_processes=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen.query("#help-footer"))
        help_screen: Any = app.screen
        table = help_screen.query_one("#help-keys", Static).content
        for width in range(30, 111):  # the help box is 90% of the terminal, up to 110 columns
            console = Console(width=width, record=True, file=io.StringIO())
            console.print(table)
            lines = console.export_text().splitlines()
            for keys, _ in help_screen.keys:  # whole, and two spaces before its description
                assert any(line.startswith(keys + "  ") for line in lines), (width, keys)
        assert not [keys for keys, _ in help_screen.keys if "⏎" in keys]  # Enter is "enter"


async def test_the_palette_has_every_action_bound_on_the_screen(static_home: Home) -> None:
    app = KugetsuConsole(static_home, clock=lambda: FIXED_NOW, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 40), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: len(app.model.views) == 5)
        commands = list(app.get_system_commands(app.screen))
        actions = {c.callback.args[0] for c in commands if isinstance(c.callback, partial)}
        bound = {b.action for b in MainScreen.BINDINGS if isinstance(b, Binding) and b.description}
        assert bound <= actions and "app.quit" in actions
        for expected in ("clean_up", "check_work", "toggle_preview", "mark", "open_url", "details", "help"):
            assert expected in actions
        assert {"answer('once')", "answer('always')", "answer('reject')", "queue_start"} <= actions
        assert [c.title for c in commands].count("Quit") == 1
        # A refused command says why at once, as its key does.
        [undo] = [c for c in commands if isinstance(c.callback, partial) and c.callback.args[0] == "undo"]
        await undo.callback()
        await pilot.pause()
        assert messages.notified("nothing to undo")


def test_states_are_drawn_in_the_table_colours() -> None:
    styles = {text.plain: str(text.style) for text, _ in state_rows()}
    assert styles[State.FAILED.value] == STATE_STYLES[State.FAILED] == "bold red"
    assert styles[State.RUNNING.value] == STATE_STYLES[State.RUNNING]
    assert set(styles) == {state.value for state in State}
