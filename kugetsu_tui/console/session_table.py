"""The live table of sessions and queued items, on the virtual table: cost per change is what changed
plus what is on screen, whatever the number of rows.

What each row holds is decided in `rows.py`; this widget only places rows by key and sort key, keeps the
cursor on its row while rows come and go, and lets the least important columns give way on a narrow
terminal (at 80 columns: mark, kind, issue, state, work, the short activity and age stay), the reasons
(state, activity) taking the room the live figures would.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import var

from kugetsu_tui.base.text import printable
from kugetsu_tui.console.rows import COLUMNS
from kugetsu_tui.console.virtual_table import Column, VirtualTable

#: Higher stays longer when the terminal is narrow.
PRIORITIES = {
    "ref": 100,
    "state": 95,
    "kind": 90,
    "mark": 88,
    "work": 85,
    "age": 80,
    "activity": 60,
    "branch": 50,
    "changed": 40,
    "cpu": 30,
    "mem": 20,
    "pid": 10,
    "oc": 5,
    "tokens": 1,  # gives way first
}


#: The reason columns: the width each grows to when there is room, before the columns of live figures
#: (changed, CPU, memory, pid, opencode id) are placed. Then the state takes whatever is left.
WIDE = {"state": 30, "activity": 30}
WIDE_PRIORITY = 45
#: The short form of the activity (a word) keeps the column at 80 columns, a scrollbar included.
NARROW = {"activity": (7, "Doing")}


def session_columns(tokens: bool = False) -> list[Column]:
    """The table's columns; the Tokens column only with a server to count them (`tokens`)."""
    return [
        Column(key, label, width, PRIORITIES.get(key, 0), WIDE.get(key, 0), WIDE_PRIORITY, *NARROW.get(key, (0, "")))
        for key, label, width in COLUMNS
        if tokens or key != "tokens"
    ]


#: The filter box's placeholder: every field `ConsoleModel.matches` looks in (`id`: the opencode session's, or
#: a queued item's).
FILTER_PLACEHOLDER = "filter by name, issue, state, work, branch, activity, kind or id (Esc clears)"


class SessionTable(VirtualTable):
    """One row per session file or queued item, keyed by session name (or `queue/<id>`), in the core's order.

    The state column takes the width left over, so a failure's reason shows whole when there is room. A
    filter, once set, is named in the table's top border, and a filter that hides every row says so.
    """

    DEFAULT_CSS = """
    SessionTable { height: 1fr; }
    SessionTable.-filtered { border-top: solid $accent; border-title-align: left; border-title-color: $accent; }
    """

    filter_text: var[str] = var("")

    def __init__(self, *, tokens: bool = False, **kwargs: Any) -> None:
        super().__init__(session_columns(tokens), flex_column="state", **kwargs)

    def watch_filter_text(self, text: str) -> None:
        self.set_class(bool(text), "-filtered")
        self.border_title = Text(f" filter: {printable(text)} · Esc clears ") if text else None  # literal, not markup
        self.empty_text = f"  no rows match “{printable(text)}”" if text else ""

    @property
    def shown_names(self) -> list[str]:
        return self.shown_keys

    @property
    def selected_name(self) -> str | None:
        return self.selected_key

    def visible_keys(self) -> list[str]:
        """The keys of the rows on screen: the only ones whose live cells (ages, CPU) are redrawn."""
        top = round(self.scroll_y)
        keys = (self.key_at(index) for index in range(top, top + self.scrollable_content_region.height))
        return [key for key in keys if key is not None]
