"""The `?` screen: every key of ours once, every state and activity in its colour, what the footer counts.

Keys are read from the bindings that our classes declare (the screen's, then its widgets', such as the
table's cursor keys), so a key added there appears here by itself; Textual's generic keys (Tab, the
palette's ctrl+p, copy) are not ours to explain, and one line names the palette. The palette's
commands come from the same bindings (`bound_commands`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from kugetsu_tui.base.text import printable
from kugetsu_tui.console.rows import ACTIVITY_STYLES, STATE_STYLES
from kugetsu_tui.sessions.activities import MEANINGS as ACTIVITY_MEANINGS
from kugetsu_tui.sessions.files import BASE_FILE, PM_FILE
from kugetsu_tui.sessions.limit import LIMIT_ENV, LIMIT_KEY, Limit
from kugetsu_tui.sessions.states import MEANINGS

TEXTUAL = "textual"
#: Keys named in words here: Textual's symbol for Enter (⏎) is drawn wider than its cell in most fonts, so it
#: ran into the description beside it (the help screenshot's key column overflowed).
KEY_WORDS = {"enter": "enter"}


def key_display(app: App[Any], binding: Binding) -> str:
    return KEY_WORDS.get(binding.key) or app.get_key_display(binding)


def own_bindings(node_type: type[DOMNode]) -> list[Binding]:
    """The bindings our classes in `node_type`'s ancestry declare, the most derived first; Textual's own
    classes (Screen's Tab, App's ctrl+p, Input's editing keys) are left out."""
    found: list[Binding] = []
    for cls in node_type.__mro__:
        if cls.__module__.partition(".")[0] == TEXTUAL:
            continue
        found.extend(b for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding))
    return found


def binding_rows(app: App[Any], node_types: list[type[DOMNode]]) -> list[tuple[str, str]]:
    """(keys, what they do) of every described binding of `node_types`, in order, each key once: a key bound
    twice (`s`: start, or queue at capacity) is described by its first binding, whose text says both."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for node_type in node_types:
        for binding in own_bindings(node_type):
            if not binding.description:
                continue  # a key's second binding: it only says why the first is refused
            keys = [key for key in Binding.make_bindings([binding]) if key.key not in seen]
            if keys:
                seen.update(key.key for key in keys)
                rows.append((", ".join(key_display(app, key) for key in keys), binding.tooltip or binding.description))
    return rows


def key_rows(screen: Screen[Any]) -> list[tuple[str, str]]:
    """The keys of `screen`: its own bindings, then those of its widgets (the table's cursor keys)."""
    types: list[type[DOMNode]] = [type(screen)]
    for node in screen.walk_children():
        if type(node) not in types:
            types.append(type(node))
    return binding_rows(screen.app, types)


def bound_commands(screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(title, help, action) of every action bound on `screen` itself, once: the command palette's entries."""
    commands: list[tuple[str, str, str]] = []
    actions: set[str] = set()
    for binding in own_bindings(type(screen)):
        if binding.description and binding.action not in actions:
            actions.add(binding.action)
            keys = ", ".join(key_display(screen.app, key) for key in Binding.make_bindings([binding]))
            commands.append((binding.description, f"{keys}: {binding.tooltip or binding.description}", binding.action))
    return commands


def state_rows() -> list[tuple[Text, str]]:
    """Each state in its table colour, with what it means."""
    return [(Text(state.value, style=STATE_STYLES.get(state, "")), meaning) for state, meaning in MEANINGS.items()]


def activity_rows() -> list[tuple[Text, str]]:
    """Each activity in its table colour, with what it means."""
    return [
        (Text(activity.value, style=ACTIVITY_STYLES.get(activity, "")), meaning)
        for activity, meaning in ACTIVITY_MEANINGS.items()
    ]


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
        f": the first found of the environment variable {LIMIT_ENV}, {LIMIT_KEY} in config.toml, "
        "kugetsu's bash config, or the default of 3."
    )
    if limit is not None:
        now = f"{limit.value}" if limit.value is not None else f"invalid ({limit.error})"
        text.append(f"\nNow: {printable(now)}, from {printable(limit.source)}.")
    for figure, meaning in (
        ("N done", "dev sessions whose work is done (merged, or its issue closed): D cleans them up, freeing slots."),
        ("N queued", "work waiting for a slot (s at capacity queues it): it starts by itself when one frees."),
        (
            "N idle",
            "dev sessions idle longer than [capacity] idle_after (30 min by default): C (or a click on the "
            "figure) shows who holds each slot and what freeing it would cost.",
        ),
        ("server unreachable", "the opencode server of [agent] server does not answer: activities come from the logs."),
        ("polling, waiting for…", "changes are polled (no inotify), or sessions/ does not exist yet."),
        (
            "(N need you)",
            "in the title: agents that need input, were denied, stalled or hit an error (each is notified once); "
            "each of their rows has a ! in its first column, and the filter / needs you shows them.",
        ),
    ):
        text.append("\n")
        text.append(figure, style="bold")
        text.append(f": {meaning}")
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

    def __init__(self, screen: Screen[Any], limit: Limit | None = None, details: type[DOMNode] | None = None) -> None:
        super().__init__()
        self.keys = key_rows(screen)
        self.details_keys = binding_rows(screen.app, [details]) if details is not None else []
        self.limit = limit

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Keys", classes="title")
            yield Static(_table(list(self.keys), "Key", "Action"), id="help-keys")
            if self.details_keys:
                yield Static("Keys of the details pane (Enter or space)", classes="title")
                yield Static(_table(list(self.details_keys), "Key", "Action"), id="help-details-keys")
            yield Static(
                Text("ctrl+p opens the command palette: every action above, found by name.", style="dim"),
                id="help-palette",
            )
            yield Static("States", classes="title")
            yield Static(_table(list(state_rows()), "State", "Meaning"), id="help-states")
            yield Static("Activities: what an agent is doing (the Activity column)", classes="title")
            yield Static(_table(list(activity_rows()), "Activity", "Meaning"), id="help-activities")
            yield Static("Footer and title", classes="title")
            yield Static(footer_text(self.limit), id="help-footer")
            yield Static(Text("Escape, q or ? closes this screen.", style="dim"))
