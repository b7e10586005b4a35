"""The virtual table: order, a cursor that stays on its row, columns by priority, literal text, bounded work."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.strip import Strip

from kugetsu_tui.console.virtual_table import Column, LazyCells, VirtualTable, fit_columns
from tests.helpers import Messages, wait_until

# The session columns proposed for the console: kind, issue, state, work and age stay at 80 columns.
SESSION_COLUMNS = [
    Column("kind", "Kind", 4, 90),
    Column("ref", "Issue / session", 30, 100),
    Column("state", "State", 20, 95),
    Column("work", "Work", 8, 80),
    Column("age", "Age", 4, 70),
    Column("changed", "Changed", 7, 40),
    Column("cpu", "CPU%", 4, 30),
    Column("mem", "Mem", 7, 20),
    Column("pid", "PID", 7, 10),
    Column("oc", "opencode id", 32, 5),
]


class CountingTable(VirtualTable):
    """Counts the lines drawn: the work the compositor asks of the table."""

    lines_drawn = 0

    def render_line(self, y: int) -> Strip:
        self.lines_drawn += 1
        return super().render_line(y)


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CountingTable(SESSION_COLUMNS, flex_column="state")

    @property
    def table(self) -> CountingTable:
        return self.query_one(CountingTable)


class CountingKey:
    """A sort key that counts how often it is compared: the cost of finding a row's place."""

    comparisons = 0

    def __init__(self, value: int) -> None:
        self.value = value

    def __lt__(self, other: CountingKey) -> bool:
        CountingKey.comparisons += 1
        return self.value < other.value

    def __eq__(self, other: object) -> bool:
        CountingKey.comparisons += 1
        return isinstance(other, CountingKey) and self.value == other.value

    def __hash__(self) -> int:
        return self.value


def row(key: str, sort_key: Any, state: str = "idle", style: str = "") -> tuple[str, dict[str, Text], Any]:
    return (
        key,
        {
            "kind": Text("dev"),
            "ref": Text(key),
            "state": Text(state, style=style),
            "work": Text("open"),
            "age": Text("3h", justify="right"),
            "oc": Text("ses_x", style="dim"),
        },
        sort_key,
    )


def screen_lines(table: VirtualTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


async def test_rows_are_ordered_by_sort_key_and_the_cursor_stays_on_its_row() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.table
        table.apply([row("b", 2), row("d", 4), row("f", 6)], [])
        table.move_cursor(1)
        assert table.selected_key == "d"
        table.apply([row("a", 1), row("c", 3)], [])
        assert table.shown_keys == ["a", "b", "c", "d", "f"]
        assert table.selected_key == "d" and table.cursor_row == 3
        table.apply([row("d", 0)], [])  # its sort key changed: it moves, the cursor with it
        assert table.shown_keys[0] == "d" and table.cursor_row == 0
        table.apply([], ["d"])  # the cursor row goes: the row that takes its place gets the cursor
        assert table.selected_key == "a"
        table.apply([], ["a", "b", "c", "f", "never-there"])
        assert table.row_count == 0 and table.selected_key is None
        await pilot.pause()


async def test_a_change_at_10000_rows_costs_what_changed_plus_what_is_visible() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.table
        table.apply([row(f"s{n:05}", CountingKey(n * 10)) for n in range(10_000)], [])
        await pilot.pause()
        table.move_cursor(5)
        await pilot.pause()
        visible = table.scrollable_content_region.height
        for upserts, removals in (
            ([row("s00003", CountingKey(30), "running", "bold green")], []),  # a visible row changes
            ([row("s09000", CountingKey(90_000), "failed")], []),  # a row off screen changes
            ([row("new", CountingKey(15))], []),  # a new row on screen: every row below it moves down
            ([], ["s00001"]),  # a row on screen goes
        ):
            CountingKey.comparisons = 0
            table.rows_rendered = table.lines_drawn = 0
            table.apply(upserts, removals)
            await pilot.pause()
            assert CountingKey.comparisons <= 10 * 2 * 14, CountingKey.comparisons  # a few bisects of ~2 log2(10,000)
            assert table.rows_rendered <= 1  # the other rows come from the cache
            assert table.lines_drawn <= visible
        assert table.selected_key == "s00005" and table.row_count == 10_000
        assert "running" in screen_lines(table)[4]


async def test_lazy_rows_are_built_only_when_drawn_or_read_so_a_change_to_every_row_costs_a_screenful() -> None:
    built: list[str] = []

    def lazy(key: str, sort_key: int, state: str = "idle") -> tuple[str, LazyCells, int]:
        def build() -> dict[str, Text]:
            built.append(key)
            return row(key, sort_key, state)[1]

        return key, LazyCells(build, {"state": len(state)}), sort_key

    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.table
        table.apply([lazy(f"s{n:05}", n) for n in range(10_000)], [])
        await pilot.pause()
        visible = table.scrollable_content_region.height
        assert 0 < len(built) <= visible and table.row_count == 10_000
        built.clear()
        table.apply([lazy(f"s{n:05}", n, "running") for n in range(10_000)], [])  # every row changes in place
        await pilot.pause()
        assert 0 < len(built) <= visible
        assert "running" in screen_lines(table)[1]
        assert (table.cells("s09999") or {})["state"].plain == "running"  # read: built then
        assert built[-1] == "s09999"


async def test_at_80_columns_kind_issue_state_work_and_age_stay() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.table
        table.apply([row("github.com-acme-widgets-12", 1)], [])
        await pilot.pause()
        shown = [column.key for column in table.shown_columns]
        assert {"kind", "ref", "state", "work", "age"} <= set(shown)
        assert "oc" not in shown and "pid" not in shown
        header = screen_lines(table)[0]
        assert header.split()[:4] == ["Kind", "Issue", "/", "session"] and "Work" in header and "Age" in header
    assert [c.key for c in fit_columns(SESSION_COLUMNS, 200)] == [c.key for c in SESSION_COLUMNS]


def test_the_flex_column_takes_the_room_left_over() -> None:
    columns = fit_columns(SESSION_COLUMNS[:3], 80, flex="state")
    assert sum(c.width for c in columns) + 2 == 80 and columns[2].width == 80 - 2 - 34


async def test_cells_are_literal_and_styled_cells_start_where_plain_ones_do() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.table
        table.apply([row("plain", 1, "idle"), row("[bold]styled[/bold]", 2, "failed: [red]x[/red]", "bold red")], [])
        await pilot.pause()
        header, plain, styled = screen_lines(table)[:3]
        column = header.index("State")
        assert plain[column:].startswith("idle ")
        assert styled[column:].startswith("failed: [red]x[/red]")
        assert "[bold]styled[/bold]" in styled
        assert plain.index("open") == styled.index("open") == header.index("Work")


async def test_keys_move_the_cursor_and_enter_or_a_click_selects() -> None:
    messages = Messages()
    app = TableApp()
    async with app.run_test(size=(100, 12), message_hook=messages) as pilot:
        table = app.table
        table.apply([row(f"r{n:02}", n) for n in range(40)], [])
        table.focus()
        await pilot.press("down", "down")
        assert table.selected_key == "r02"
        await pilot.press("up")
        assert table.selected_key == "r01"
        await pilot.press("pagedown")
        assert table.cursor_row > 5
        await pilot.press("G")
        assert table.selected_key == "r39"
        assert "r39" in screen_lines(table)[-1]  # scrolled into view
        await pilot.press("g")
        assert table.selected_key == "r00"
        await pilot.press("end", "pageup", "home", "enter")
        await wait_until(pilot, lambda: messages.of(VirtualTable.RowSelected), what="RowSelected")
        assert [m.key for m in messages.of(VirtualTable.RowSelected)] == ["r00"]
        await pilot.click(CountingTable, offset=(2, 3))  # header, r00, r01, r02
        await wait_until(pilot, lambda: len(messages.of(VirtualTable.RowSelected)) == 2, what="click")
        assert table.selected_key == "r02" and messages.of(VirtualTable.RowSelected)[-1].key == "r02"
        assert "r02" in [m.key for m in messages.of(VirtualTable.RowHighlighted)]


async def test_rows_added_above_the_screen_leave_the_cursor_on_its_screen_line() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.table
        table.apply([row(f"s{n:05}", n * 10) for n in range(1_000)], [])
        await pilot.pause()
        table.move_cursor(500)
        await pilot.pause()
        line = table.cursor_row - round(table.scroll_y)
        table.apply([row("above", 5)], ["s00002"])
        table.apply([row("above2", 6)], [])
        await pilot.pause()
        assert table.selected_key == "s00500" and table.cursor_row == 501
        assert table.cursor_row - round(table.scroll_y) == line
        assert "s00500" in screen_lines(table)[line + 1]


def test_a_reason_column_grows_before_the_live_figures_and_a_column_too_wide_shows_its_short_form() -> None:
    columns = [
        Column("ref", "Issue", 20, 100),
        Column("state", "State", 10, 95, wide=25, wide_priority=45),
        Column("activity", "Activity", 20, 60, narrow=5, short_label="Doing"),
        Column("cpu", "CPU%", 4, 30),
    ]
    wide = {c.key: c for c in fit_columns(columns, 80, flex="state")}
    assert wide["state"].width == 80 - 20 - 20 - 4 - 3 and not wide["activity"].short
    roomy = {c.key: c for c in fit_columns(columns, 70)}
    assert roomy["state"].width == 25 and "cpu" not in roomy  # the reason's room before CPU%
    narrow = {c.key: c for c in fit_columns(columns, 40)}
    assert narrow["activity"].short and narrow["activity"].width == 5 and narrow["state"].width == 40 - 20 - 5 - 2


async def test_a_growing_column_takes_the_width_of_its_widest_cell_and_a_short_column_its_short_cells() -> None:
    class ReasonApp(App[None]):
        def compose(self) -> ComposeResult:
            yield VirtualTable(
                [
                    Column("ref", "Issue", 10, 100),
                    Column("state", "State", 6, 95, wide=40, wide_priority=45),
                    Column("activity", "Activity", 20, 60, narrow=6, short_label="Doing"),
                    Column("cpu", "CPU%", 4, 30),
                ]
            )

    app = ReasonApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(VirtualTable)
        cells = {"ref": Text("a"), "state": Text("failed: exit status 1"), "cpu": Text("3")}
        table.apply([("a", {**cells, "activity": Text("busy: output 3s ago"), "activity/short": Text("busy")}, 1)], [])
        await pilot.pause()
        assert {c.key: c.width for c in table.shown_columns}["state"] == len("failed: exit status 1")
        assert "failed: exit status 1 busy: output 3s ago" in screen_lines(table)[1]
        table.apply([("a", {**cells, "state": Text("idle")}, 1)], [])
        await pilot.pause()
        assert {c.key: c.width for c in table.shown_columns}["state"] == 6  # back to its width: CPU% returns
        assert [c.key for c in table.shown_columns] == ["ref", "state", "activity", "cpu"]
    app = ReasonApp()
    async with app.run_test(size=(30, 10)) as pilot:
        table = app.query_one(VirtualTable)
        table.apply([("a", {"ref": Text("a"), "activity": Text("busy: x"), "activity/short": Text("busy")}, 1)], [])
        await pilot.pause()
        header, line = screen_lines(table)[:2]
        assert "Doing" in header and line.split() == ["a", "busy"]
