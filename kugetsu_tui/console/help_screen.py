"""The `?` screen: every key, every state and its colour, and what the footer figure counts.

Keys are read from the bindings active on the screen it explains, so a key added there appears here by itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from kugetsu_tui.base.text import printable
from kugetsu_tui.console.rows import STATE_STYLES
from kugetsu_tui.sessions.files import BASE_FILE, PM_FILE
from kugetsu_tui.sessions.limit import LIMIT_ENV, LIMIT_KEY, Limit
from kugetsu_tui.sessions.states import MEANINGS


def key_rows(screen: Screen[Any]) -> list[tuple[str, str]]:
    """(keys, what they do) for every key of `screen`: those active now, and the screen's own that are
    hidden at the moment (undo with nothing to undo, say); keys of one action together, in binding order,
    the screen's own before the rest."""
    app = screen.app
    grouped: dict[tuple[int, str], tuple[list[str], str]] = {}

    def add(node: object, binding: Binding) -> None:
        what = binding.description or binding.action.replace("app.", "").replace("_", " ").capitalize()
        keys, _ = grouped.setdefault((id(node), binding.action), ([], what))
        display = app.get_key_display(binding)
        if display not in keys:
            keys.append(display)

    for active in screen.active_bindings.values():
        add(active.node, active.binding)
    for binding in type(screen).BINDINGS:
        if isinstance(binding, Binding) and binding.description:
            add(screen, binding)
    # The screen's own keys first; the table's and Textual's generic ones (scroll, tab, palette) after them.
    own = {(id(screen), binding.action) for binding in type(screen).BINDINGS if isinstance(binding, Binding)}
    ours_first = sorted(grouped.items(), key=lambda item: item[0] not in own)
    return [(", ".join(keys), what) for _, (keys, what) in ours_first]


def state_rows() -> list[tuple[Text, str]]:
    """Each state in its table colour, with what it means."""
    return [(Text(state.value, style=STATE_STYLES.get(state, "")), meaning) for state, meaning in MEANINGS.items()]


def footer_text(limit: Limit | None) -> Text:
    text = Text()
    text.append("active/limit", style="bold")
    text.append(
        f": active counts the dev sessions, every *.json in sessions/ except {BASE_FILE} and {PM_FILE}, "
        "whatever their state (failed, idle and corrupt files hold a slot too, until destroyed). "
        "Green while slots are free, amber on the last slot, red when full or when the limit is invalid.\n"
    )
    text.append("limit", style="bold")
    text.append(
        f": the first found of the environment variable {LIMIT_ENV}, `{LIMIT_KEY}` in config.toml, "
        "kugetsu's bash config, or the default of 3."
    )
    if limit is not None:
        now = f"{limit.value}" if limit.value is not None else f"invalid ({limit.error})"
        text.append(f"\nNow: {printable(now)}, from {printable(limit.source)}.")
    return text


def _table(rows: list[tuple[Text | str, str]], first: str, second: str) -> Table:
    table = Table(show_edge=False, box=None, padding=(0, 2, 0, 0), expand=True)
    table.add_column(first, no_wrap=True, style="bold")
    table.add_column(second, ratio=1)
    for left, right in rows:
        table.add_row(left if isinstance(left, Text) else Text(left), Text(right))
    return table


class HelpScreen(ModalScreen[None]):
    """Explains the screen it was opened from; Escape, `q` or `?` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 110; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    HelpScreen .title { text-style: bold; color: $accent; margin-top: 1; }
    """

    def __init__(self, screen: Screen[Any], limit: Limit | None = None) -> None:
        super().__init__()
        self.keys = key_rows(screen)
        self.limit = limit

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Keys", classes="title")
            yield Static(_table(list(self.keys), "Key", "Action"), id="help-keys")
            yield Static("States", classes="title")
            yield Static(_table(list(state_rows()), "State", "Meaning"), id="help-states")
            yield Static("Footer figure", classes="title")
            yield Static(footer_text(self.limit), id="help-footer")
            yield Static(Text("Escape, q or ? closes this screen.", style="dim"))
