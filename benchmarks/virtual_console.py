"""The console as proposed for issue 14, for the stream benchmark until the console integrates it:
the virtual session table swapped in, and rows applied in the same frame as the capacity figure (with the
virtual table a row update is cheap, so it no longer waits a frame behind the figure).

    python -m benchmarks.virtual_console HOME
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from kugetsu_tui.console import main_screen
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.virtual_session_table import VirtualSessionTable
from kugetsu_tui.home import Home


class SwappedTable(VirtualSessionTable):
    """Takes SessionTable's `apply(views, removals, stats)` as the main screen calls it."""

    def apply(self, upserts: Iterable[Any], removals: Iterable[Any], stats: Any = None) -> None:
        if stats is None:
            super().apply(upserts, removals)
        else:
            self.apply_views(upserts, removals, stats)


def sessions_changed(screen: main_screen.MainScreen) -> None:
    """The figure and the rows in one frame."""
    screen.show_capacity()
    if screen.model.has_pending_rows:
        screen._flush_rows()


if __name__ == "__main__":
    setattr(main_screen, "SessionTable", SwappedTable)  # noqa: B010 - the name the main screen looks up
    setattr(main_screen.MainScreen, "sessions_changed", sessions_changed)  # noqa: B010
    KugetsuConsole(Home.locate(sys.argv[1])).run()
