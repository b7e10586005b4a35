"""The live table of sessions and queued items, updated by row key so it never flickers or loses the cursor.

What each row holds is decided in `rows.py`; this widget only places rows: `apply` adds, updates
(only the cells that changed) and removes rows in one batch, and keeps rows in their sort order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from kugetsu_tui.console.rows import COLUMNS

#: one row to draw: its key, its cells by column key, and where it sorts
RowUpdate = tuple[str, dict[str, Text], tuple[Any, ...]]


class SortKeyText(Text):
    """The kind cell also carries the row's sort key: DataTable.sort only sees cell values."""

    def __init__(self, text: Text, sort_key: tuple[Any, ...]) -> None:
        super().__init__(text.plain, style=text.style)
        self.sort_key = sort_key


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._cells: dict[str, dict[str, Text]] = {}
        self._sort_keys: dict[str, tuple[Any, ...]] = {}
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

    def apply(self, upserts: Iterable[RowUpdate], removals: Iterable[str]) -> None:
        """Add, update and remove rows in one batch; only changed cells are touched."""
        if not self.is_attached:
            return  # deferred from a batch that arrived while the app was closing
        selected = self.selected_name
        needs_sort = False
        with self.app.batch_update():
            for key in removals:
                if key in self._cells:
                    self.remove_row(key)
                    del self._cells[key]
                    del self._sort_keys[key]
            for key, cells, sort_key in upserts:
                old = self._cells.get(key)
                if old is None:
                    self.add_row(*(SortKeyText(c, sort_key) if k == "kind" else c for k, c in cells.items()), key=key)
                    if self._last_sort_key is not None and sort_key < self._last_sort_key:
                        needs_sort = True
                    self._last_sort_key = max(self._last_sort_key or sort_key, sort_key)
                else:
                    if sort_key != self._sort_keys[key]:
                        needs_sort = True
                    for column, cell in cells.items():
                        if cell.plain != old[column].plain or cell.style != old[column].style:
                            self.update_cell(key, column, SortKeyText(cell, sort_key) if column == "kind" else cell)
                self._cells[key] = cells
                self._sort_keys[key] = sort_key
            if needs_sort:
                self.sort("kind", key=lambda cell: cell.sort_key)
                self._last_sort_key = max(self._sort_keys.values(), default=None)
            if selected is not None and selected in self._cells:
                index = self.get_row_index(selected)
                if index != self.cursor_row:
                    self.move_cursor(row=index, animate=False, scroll=False)

    def visible_keys(self) -> list[str]:
        """The keys of the rows on screen (and one either side): the only ones whose live cells matter."""
        top = int(self.scroll_y)
        visible = range(max(0, top - 1), min(self.row_count, top + self.size.height + 1))
        keys = []
        for index in visible:
            key = self.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value
            if key is not None:
                keys.append(key)
        return keys
