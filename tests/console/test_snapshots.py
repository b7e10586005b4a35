"""Snapshot tests of the main screens (pytest-textual-snapshot; `pytest --snapshot-update` rewrites them).

The home has fixed ids and times and the clock is fixed, so the SVGs only change when the
console's look does.
"""

from __future__ import annotations

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from tests.helpers import FIXED_NOW, set_limit, wait_until

SIZE = (100, 24)


def console(home: Home) -> KugetsuConsole:
    app = KugetsuConsole(home, clock=lambda: FIXED_NOW, sample_processes=False, check_work=False, follow_activity=False)
    app.sub_title = "~/.kugetsu"  # the real path differs per test run
    return app


def loaded(app: KugetsuConsole, then: tuple[str, ...] = ()):
    async def run_before(pilot) -> None:
        await wait_until(pilot, lambda: len(app.model.views) == 5 and app.model.watcher_mode == "inotify")
        await pilot.press(*then)
        await pilot.pause(0.2)

    return run_before


def test_overview(snap_compare, static_home: Home) -> None:
    set_limit(static_home, 4)
    app = console(static_home)
    assert snap_compare(app, terminal_size=SIZE, run_before=loaded(app))


def test_at_capacity_with_refusal(snap_compare, static_home: Home) -> None:
    app = console(static_home)
    assert snap_compare(app, terminal_size=SIZE, run_before=loaded(app, ("s",)))


def test_start_dialog(snap_compare, static_home: Home) -> None:
    set_limit(static_home, 4)
    app = console(static_home)
    assert snap_compare(app, terminal_size=SIZE, run_before=loaded(app, ("s", *"acme/widgets#")))


def test_destroy_confirmation(snap_compare, static_home: Home) -> None:
    app = console(static_home)
    assert snap_compare(app, terminal_size=SIZE, run_before=loaded(app, ("down", "down", "d")))


def test_details_pane(snap_compare, static_home: Home) -> None:
    app = console(static_home)
    assert snap_compare(app, terminal_size=SIZE, run_before=loaded(app, ("down", "down", "down", "enter")))
