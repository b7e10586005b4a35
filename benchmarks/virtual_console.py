"""The console with the virtual session table swapped in, for the stream benchmark, until the console
integrates it: `python -m benchmarks.virtual_console HOME`."""

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


if __name__ == "__main__":
    setattr(main_screen, "SessionTable", SwappedTable)  # noqa: B010 - the name the main screen looks up
    KugetsuConsole(Home.locate(sys.argv[1])).run()
