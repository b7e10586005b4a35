"""The session table on the virtual table: SessionTable's API, live cells refreshed on screen only."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult

from kugetsu_tui.console.virtual_session_table import VirtualSessionTable
from kugetsu_tui.home import Home
from kugetsu_tui.overview import SessionView, overview
from tests.helpers import FIXED_NOW, write_session


class Clock:
    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self) -> float:
        return self.now


class SessionsApp(App[None]):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def compose(self) -> ComposeResult:
        yield VirtualSessionTable(clock=self.clock)

    @property
    def table(self) -> VirtualSessionTable:
        return self.query_one(VirtualSessionTable)


def views_of(tmp_path: Path, dev_count: int) -> dict[str, SessionView]:
    home = Home(tmp_path / "home")
    write_session(home, "base", {"type": "base", "created_at": "2026-01-01T00:00:00+00:00", "state": "idle"})
    for number in range(dev_count, 0, -1):  # written newest first: the order comes from the sort key
        write_session(home, f"github.com-acme-widgets-{number}", {
            "type": "forked", "issue_ref": f"github.com/acme/widgets#{number}", "state": "failed",
            "error": "the agent exited with status 1 after a long and detailed explanation", "created_at":
            f"2026-01-02T00:{number // 60:02d}:{number % 60:02d}+00:00"})
    return {v.session.name: v for v in overview(home).sessions}


async def test_rows_follow_the_core_order_and_names(tmp_path: Path) -> None:
    views = views_of(tmp_path, 3)
    app = SessionsApp(Clock())
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.table
        table.apply_views(views.values(), [], {})
        await pilot.pause()
        assert table.shown_names == ["base", *(f"github.com-acme-widgets-{n}" for n in (1, 2, 3))]
        assert table.selected_name == "base"
        shown = {column.key for column in table.shown_columns}
        assert {"kind", "ref", "state", "age"} <= shown and "oc" not in shown
        line = table.render_line(2).text
        assert "failed: the agent exited" in line  # the state column takes the room left at 80 columns
        table.apply_views([], ["base"], {})
        assert table.selected_name == "github.com-acme-widgets-1"


async def test_live_cells_are_refreshed_for_the_rows_on_screen_only(tmp_path: Path) -> None:
    views = views_of(tmp_path, 60)
    clock = Clock()
    app = SessionsApp(clock)
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.table
        table.apply_views(views.values(), [], {})
        await pilot.pause()
        last = table.shown_names[-1]
        age_before = table.cells(last)["age"].plain  # type: ignore[index]
        first_dev = table.shown_names[1]
        table.rows_rendered = 0
        table.refresh_live_cells(views, {})  # nothing changed: nothing redrawn
        await pilot.pause()
        assert table.rows_rendered == 0
        clock.now += 30 * 24 * 3600
        table.refresh_live_cells(views, {})
        await pilot.pause()
        assert table.cells(first_dev)["age"].plain != age_before  # type: ignore[index]
        assert table.cells(last)["age"].plain == age_before  # type: ignore[index]  # off screen: untouched
        assert 0 < table.rows_rendered <= table.scrollable_content_region.height
