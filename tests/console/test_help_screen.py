"""The `?` help screen: keys from the screen's own bindings, every state in its colour, the footer figure."""

from __future__ import annotations

import io
from typing import Any, ClassVar

from rich.console import Console
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.help_screen import HelpScreen, state_rows
from kugetsu_tui.console.rows import STATE_STYLES
from kugetsu_tui.sessions.limit import resolve_limit
from kugetsu_tui.sessions.states import MEANINGS, State
from tests.helpers import FIXED_NOW, wait_until


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


async def test_the_console_help_lists_its_keys_states_and_what_the_footer_counts(static_home: Home) -> None:
    app = KugetsuConsole(static_home, clock=lambda: FIXED_NOW, sample_processes=False)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        app.push_screen(HelpScreen(main, resolve_limit(static_home)))
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen.query("#help-footer"))
        help_screen: Any = app.screen
        keys = shown_text(help_screen, "help-keys")
        for description in ("Start", "Continue", "Destroy", "Undo", "Filter", "Raise limit", "Lower limit", "Quit"):
            assert description in keys
        states = shown_text(help_screen, "help-states")
        for state, meaning in MEANINGS.items():
            assert state.value in states and meaning.split()[0] in states
        footer = shown_text(help_screen, "help-footer")
        assert "base.json" in footer and "pm-agent.json" in footer and "whatever their state" in footer
        assert "MAX_CONCURRENT_AGENTS" in footer and "Now: 3, from" in footer
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is main)


def test_states_are_drawn_in_the_table_colours() -> None:
    styles = {text.plain: str(text.style) for text, _ in state_rows()}
    assert styles[State.FAILED.value] == STATE_STYLES[State.FAILED] == "bold red"
    assert styles[State.RUNNING.value] == STATE_STYLES[State.RUNNING]
    assert set(styles) == {state.value for state in State}
