"""The session table on the virtual table, with SessionTable's API: the console swaps one for the other.

Cells come from `session_table.row_cells`, so the columns the console defines there are the columns shown;
each column's priority says which give way first on a narrow terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from kugetsu_tui.console.session_table import COLUMNS, row_cells
from kugetsu_tui.console.virtual_table import Column, Upsert, VirtualTable
from kugetsu_tui.overview import SessionView

#: Higher stays longer: at 80 columns kind, issue, state, work status and age stay visible.
PRIORITIES = {"ref": 100, "state": 95, "kind": 90, "work": 85, "age": 80, "changed": 40, "cpu": 30, "mem": 20,
              "pid": 10, "oc": 5}
LIVE_COLUMNS = ("state", "pid", "cpu", "mem", "age", "changed")


def session_columns() -> list[Column]:
    return [Column(key, label, width, PRIORITIES.get(key, 0)) for key, label, width in COLUMNS]


class VirtualSessionTable(VirtualTable):
    """One row per session file, keyed by session name, in the core's order (`Session.sort_key`)."""

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(session_columns(), flex_column="state", **kwargs)
        self.clock = clock

    @property
    def shown_names(self) -> list[str]:
        return self.shown_keys

    @property
    def selected_name(self) -> str | None:
        return self.selected_key

    def apply_views(self, upserts: Iterable[SessionView], removals: Iterable[str],
                    stats: dict[str, tuple[float, int]]) -> None:
        """SessionTable.apply: rows for these views, these names gone; unchanged rows cost a comparison."""
        now = self.clock()
        rows: list[Upsert] = [(view.session.name, row_cells(view, stats.get(view.session.name), now),
                               view.session.sort_key()) for view in upserts]
        self.apply(rows, removals)

    def refresh_live_cells(self, views: dict[str, SessionView], stats: dict[str, tuple[float, int]]) -> None:
        """Recompute the time- and process-dependent cells of the rows on screen only."""
        top = round(self.scroll_y)
        shown = (self.key_at(index) for index in range(top, top + self.scrollable_content_region.height))
        self.apply_views([views[name] for name in shown if name is not None and name in views], [], stats)
