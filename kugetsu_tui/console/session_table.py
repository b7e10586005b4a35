"""The live table of sessions, updated by row key so it never flickers or loses the cursor.

Cells are rich `Text` built from untrusted file content: never parsed as markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from kugetsu_tui.display import age, megabytes, printable
from kugetsu_tui.overview import SessionView

# (key, label, width). Most telling first: on a narrow terminal the right-hand columns scroll.
# Fixed widths: a live cell that grows never re-lays out the whole table.
COLUMNS = (("kind", "Kind", 4), ("ref", "Issue / session", 30), ("state", "State", 28), ("age", "Age", 4),
           ("changed", "Changed", 7), ("cpu", "CPU%", 4), ("mem", "Mem", 7), ("pid", "PID", 7),
           ("oc", "opencode id", 32))
WIDTHS = {key: width for key, _, width in COLUMNS}
STATE_STYLES = {"running": "bold green", "starting": "yellow", "restoring": "yellow", "idle": "",
                "failed": "bold red", "corrupt": "bold magenta"}
KIND_STYLES = {"base": "cyan", "pm": "blue", "dev": ""}


class SortKeyText(Text):
    """The kind cell also carries the row's sort key: DataTable.sort only sees cell values."""

    def __init__(self, text: str, sort_key: tuple[Any, ...], style: str = "") -> None:
        super().__init__(text, style=style)
        self.sort_key = sort_key


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def row_cells(view: SessionView, stats: tuple[float, int] | None, now: float) -> dict[str, Text]:
    """The cells of one row, every one of them literal text."""
    s = view.session
    state: str = view.shown_state
    if view.error and state in ("failed", "corrupt"):
        state = f"{state}: {view.error}"
    stale = s.pid is not None and not view.alive
    cells = {
        "kind": SortKeyText(s.kind, s.sort_key(), KIND_STYLES.get(s.kind, "")),
        "ref": Text(_clip(printable(s.issue_ref or s.name), WIDTHS["ref"])),
        "oc": Text(printable(s.opencode_session_id), style="dim"),
        "state": Text(_clip(printable(state), WIDTHS["state"]), style=STATE_STYLES.get(view.shown_state, "")),
        "pid": Text(str(s.pid or ""), style="dim" if stale else ""),
        "cpu": Text(f"{stats[0]:.0f}" if stats else "", justify="right"),
        "mem": Text(megabytes(stats[1]) if stats else "", justify="right"),
        "age": Text(age(now - s.created_timestamp(), coarse=True), justify="right"),
        "changed": Text(age(now - s.mtime, coarse=True) if s.mtime else "", justify="right"),
    }
    return {key: cells[key] for key, _, _ in COLUMNS}


class SessionTable(DataTable[Text]):
    """One row per session file, keyed by session name, in the core's order."""

    BINDINGS = [
        Binding("home,g", "first_row", "First row", show=False),
        Binding("end,G", "last_row", "Last row", show=False),
    ]

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    DEFAULT_CSS = """
    SessionTable { height: 1fr; }
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.clock = clock
        self._cells: dict[str, dict[str, Text]] = {}
        self._last_sort_key: tuple[Any, ...] | None = None

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    @property
    def shown_names(self) -> list[str]:
        return list(self._cells)

    @property
    def selected_name(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - no valid cursor
            return None

    def apply(self, upserts: Iterable[SessionView], removals: Iterable[str],
              stats: dict[str, tuple[float, int]]) -> None:
        """Add, update and remove rows in one batch; only changed cells are touched."""
        if not self.is_attached:
            return  # deferred from a batch that arrived while the app was closing
        selected = self.selected_name
        now = self.clock()
        needs_sort = False
        with self.app.batch_update():
            for name in removals:
                if name in self._cells:
                    self.remove_row(name)
                    del self._cells[name]
            for view in upserts:
                name = view.session.name
                cells = row_cells(view, stats.get(name), now)
                old = self._cells.get(name)
                if old is None:
                    sort_key = cells["kind"].sort_key  # type: ignore[attr-defined]
                    self.add_row(*cells.values(), key=name)
                    if self._last_sort_key is not None and sort_key < self._last_sort_key:
                        needs_sort = True
                    self._last_sort_key = max(self._last_sort_key or sort_key, sort_key)
                else:
                    if cells["kind"].sort_key != old["kind"].sort_key:  # type: ignore[attr-defined]
                        needs_sort = True
                    for column, cell in cells.items():
                        if cell.plain != old[column].plain or cell.style != old[column].style:
                            self.update_cell(name, column, cell)
                self._cells[name] = cells
            if needs_sort:
                self.sort("kind", key=lambda cell: cell.sort_key)
                self._last_sort_key = max((c["kind"].sort_key for c in self._cells.values()), default=None)  # type: ignore[attr-defined]
            if selected is not None and selected in self._cells:
                index = self.get_row_index(selected)
                if index != self.cursor_row:
                    self.move_cursor(row=index, animate=False, scroll=False)

    def refresh_live_cells(self, views: dict[str, SessionView], stats: dict[str, tuple[float, int]]) -> None:
        """Re-render the time- and process-dependent cells of the rows on screen."""
        now = self.clock()
        top = int(self.scroll_y)
        visible = range(max(0, top - 1), min(self.row_count, top + self.size.height + 1))
        with self.app.batch_update():
            for index in visible:
                name = self.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value
                view = views.get(name or "")
                if view is None or name is None:
                    continue
                cells = row_cells(view, stats.get(name), now)
                old = self._cells[name]
                for column in ("state", "pid", "cpu", "mem", "age", "changed"):
                    if cells[column].plain != old[column].plain or cells[column].style != old[column].style:
                        self.update_cell(name, column, cells[column])
                self._cells[name] = cells
