"""A table whose cost per change is what changed plus what is visible, never the number of rows.

Textual's DataTable rebuilds its ordered rows and offsets over every row on the next render after any
`update_cell`, `add_row` or `remove_row` (Textual #1892, #5273), so at 10,000 rows each change waits behind
an O(rows) redraw. This table is written on Textual's line API (a ScrollView with `render_line`, as Log and
DataTable are): rows are kept in a list sorted by `(sort_key, key)` and found with `bisect`, only the lines on
screen are rendered, and a rendered row is cached until that row changes. A row's cells can be given as
`LazyCells`, built only when the row is first drawn or read: a change to every row (the first load of 10,000
sessions, the first work check) then costs what is on screen, not 10,000 rows of rich `Text`.

Cells are rich `Text` given by the caller and drawn literally (never parsed as markup); every column starts at
the same offset on every line, whatever the style of its cells.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = 1  # blank cells between two columns
ROW_CACHE_SIZE = 1024


class Column(NamedTuple):
    """A column: the cells' key, its header label, its width, and how long it stays when space runs out.

    A column of reasons can want more room (up to `wide`, as much as its widest cell needs, taken at
    `wide_priority` when there is room) and can
    have a short form (`narrow` cells wide, the cells under `short_key(key)`, headed `short_label`) for when
    `width` does not fit.
    """

    key: str
    label: str
    width: int
    priority: int  # higher stays longer
    wide: int = 0
    wide_priority: int = 0
    narrow: int = 0
    short_label: str = ""
    short: bool = False  # set by fit_columns: shown in its short form


def short_key(key: str) -> str:
    """Where a row keeps the short form of a cell (a row without one shows the full cell, cut)."""
    return f"{key}/short"


class LazyCells:
    """A row's cells, built when the row is first drawn or read rather than when it is given.

    `widths` are the cell widths of the growing columns (those with `wide`), given up front because they lay
    out every row, drawn or not; the caller computes them without building the cells. A lazy row is never
    compared with the row it replaces (that would build both): it is redrawn if it is on screen.
    """

    __slots__ = ("_build", "_cells", "widths")

    def __init__(self, build: Callable[[], Mapping[str, Text]], widths: Mapping[str, int]) -> None:
        self._build: Callable[[], Mapping[str, Text]] | None = build
        self._cells: Mapping[str, Text] | None = None
        self.widths = widths

    @property
    def cells(self) -> Mapping[str, Text]:
        if self._cells is None:
            assert self._build is not None
            self._cells, self._build = self._build(), None
        return self._cells


Cells = Mapping[str, Text] | LazyCells


class Row(NamedTuple):
    given: Cells
    sort_key: Any

    @property
    def cells(self) -> Mapping[str, Text]:
        return self.given.cells if isinstance(self.given, LazyCells) else self.given


Upsert = tuple[str, Cells, Any]


def fit_columns(columns: Sequence[Column], width: int, flex: str | None = None) -> list[Column]:
    """The columns that fit in `width`, in their given order; the lowest priorities give way first.

    A column that does not fit at its width shows its short form if that fits; a column that wants more
    room gets it before the columns of lower priority than its `wide_priority` are placed. The `flex`
    column, when shown, takes the width left over (so a long state is not cut when there is room).
    """
    widths: dict[str, int] = {}
    short: set[str] = set()
    used = -GAP
    claims = [(c.priority, False, c) for c in columns] + [
        (c.wide_priority, True, c) for c in columns if c.wide > c.width
    ]
    for _, more_room, column in sorted(claims, key=lambda claim: -claim[0]):
        if more_room:
            if column.key in widths and column.key not in short:
                extra = max(0, min(column.wide - column.width, width - used))
                widths[column.key] += extra
                used += extra
        elif used + GAP + column.width <= width:
            widths[column.key] = column.width
            used += GAP + column.width
        elif column.narrow and used + GAP + column.narrow <= width:
            widths[column.key] = column.narrow
            short.add(column.key)
            used += GAP + column.narrow
    if flex is not None and flex in widths and flex not in short and width > used:
        widths[flex] += width - used
    return [c._replace(width=widths[c.key], short=c.key in short) for c in columns if c.key in widths]


def same_cells(old: Mapping[str, Text], new: Mapping[str, Text]) -> bool:
    """Whether two rows draw the same (text, style and alignment of every cell)."""
    if old.keys() != new.keys():
        return False
    for key, cell in new.items():
        before = old[key]
        if (
            cell.plain != before.plain
            or cell.style != before.style
            or cell.spans != before.spans
            or cell.justify != before.justify
        ):
            return False
    return True


class VirtualTable(ScrollView, can_focus=True):
    """Rows keyed by a string, ordered by a sort key, with a cursor that stays on its row's key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first_row", "First row", show=False),
        Binding("end,G", "last_row", "Last row", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--even-row",
    }

    DEFAULT_CSS = """
    VirtualTable { height: 1fr; }
    VirtualTable > .virtual-table--header { text-style: bold; background: $panel; }
    VirtualTable > .virtual-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    VirtualTable:blur > .virtual-table--cursor { background: $block-cursor-blurred-background; }
    VirtualTable > .virtual-table--even-row { background: $surface-lighten-1 10%; }
    """

    class RowHighlighted(Message):
        """The cursor moved to another row (or the table became empty: `key` is None)."""

        def __init__(self, table: VirtualTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        """Enter, or a click, on a row."""

        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self, columns: Iterable[Column | tuple[str, str, int, int]], *, flex_column: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.columns = [Column(*column) for column in columns]
        self.flex_column = flex_column
        self._rows: dict[str, Row] = {}
        self._order: list[tuple[Any, str]] = []  # (sort_key, key), sorted
        self._cursor_key: str | None = None
        self._shown_columns: list[Column] = []
        self._layout_width = -1
        self._row_strips: LRUCache[str, Strip] = LRUCache(ROW_CACHE_SIZE)
        self._header: Strip | None = None
        #: How many cells of each width each growing column holds: it grows to its widest cell, no more.
        self._cell_widths: dict[str, Counter[int]] = {c.key: Counter() for c in self.columns if c.wide > c.width}
        self._laid_out_for: dict[str, int] = {}
        #: Rows drawn from their cells (cache misses): the work a change causes, for the tests.
        self.rows_rendered = 0
        self._empty_text = ""

    # --- reading --------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def shown_keys(self) -> list[str]:
        """Every row key in display order (O(rows): for tests and occasional use, not per change)."""
        return [key for _, key in self._order]

    @property
    def selected_key(self) -> str | None:
        return self._cursor_key

    @property
    def cursor_row(self) -> int:
        """The cursor's row index, or -1 when the table is empty."""
        return -1 if self._cursor_key is None else self.row_index(self._cursor_key)

    def row_index(self, key: str) -> int:
        """Where a row is now, in O(log rows); -1 when there is no such row."""
        row = self._rows.get(key)
        if row is None:
            return -1
        return bisect_left(self._order, (row.sort_key, key))

    def key_at(self, index: int) -> str | None:
        return self._order[index][1] if 0 <= index < len(self._order) else None

    def cells(self, key: str) -> Mapping[str, Text] | None:
        row = self._rows.get(key)
        return None if row is None else row.cells

    @property
    def empty_text(self) -> str:
        """What the line under the header says while the table has no rows (nothing when empty)."""
        return self._empty_text

    @empty_text.setter
    def empty_text(self, text: str) -> None:
        if text != self._empty_text:
            self._empty_text = text
            self.refresh_line(1)

    # --- changing -------------------------------------------------------------------------------

    def apply(self, upserts: Iterable[Upsert], removals: Iterable[Hashable]) -> None:
        """Add, replace and remove rows in one batch, redrawing only the lines on screen that changed.

        A row whose sort key changes moves; the cursor stays on its key, on the same screen line when it can.
        A removed cursor row hands the cursor to the row that takes its place.
        """
        old_selected = self._cursor_key
        old_cursor = self.cursor_row
        cursor_line = old_cursor - round(self.scroll_y)
        first_moved = len(self._order) + 1  # lowest index whose row changed place
        changed_rows: list[str] = []
        for key in removals:
            assert isinstance(key, str)
            row = self._rows.pop(key, None)
            if row is None:
                continue
            self._count_widths(row.given, -1)
            index = bisect_left(self._order, (row.sort_key, key))
            del self._order[index]
            self._row_strips.discard(key)
            first_moved = min(first_moved, index)
            if key == self._cursor_key:
                self._cursor_key = self.key_at(min(index, len(self._order) - 1))
        for key, cells, sort_key in upserts:
            old = self._rows.get(key)
            if (
                old is not None
                and old.sort_key == sort_key
                and not isinstance(cells, LazyCells)
                and not isinstance(old.given, LazyCells)
                and same_cells(old.given, cells)
            ):
                continue  # nothing to redraw
            self._rows[key] = Row(cells, sort_key)
            self._row_strips.discard(key)
            if old is not None:
                self._count_widths(old.given, -1)
            self._count_widths(cells, 1)
            if old is not None and old.sort_key == sort_key:
                changed_rows.append(key)
                continue
            if old is not None:
                index = bisect_left(self._order, (old.sort_key, key))
                del self._order[index]
                first_moved = min(first_moved, index)
            index = bisect_left(self._order, (sort_key, key))
            self._order.insert(index, (sort_key, key))
            first_moved = min(first_moved, index)
        if self._cursor_key is None and self._order:
            self._cursor_key = self._order[0][1]
        if first_moved <= len(self._order):
            self.virtual_size = Size(self.virtual_size.width, len(self._order) + 1)
            if old_cursor >= 0 and self._cursor_key is not None and self._cursor_key == old_selected:
                self._keep_cursor_on_line(cursor_line)
            self._refresh_rows_from(first_moved)
        self._refresh_changed(changed_rows)
        if self._cell_widths and self._wanted_widths() != self._laid_out_for:
            self._layout_width = -1  # a growing column's widest cell changed: lay the columns out again
            self.refresh()
        self._scroll_cursor_into_view()
        if self._cursor_key != old_selected:
            self.post_message(self.RowHighlighted(self, self._cursor_key))

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row index `row` (clamped) and scroll it into view."""
        if not self._order:
            return
        key = self._order[max(0, min(row, len(self._order) - 1))][1]
        if key == self._cursor_key:
            return
        old = self.cursor_row
        self._cursor_key = key
        self._refresh_row(old)
        self._refresh_row(self.cursor_row)
        self._scroll_cursor_into_view()
        self.post_message(self.RowHighlighted(self, key))

    # --- keys and mouse -------------------------------------------------------------------------

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + self._page())

    def action_first_row(self) -> None:
        self.move_cursor(0)

    def action_last_row(self) -> None:
        self.move_cursor(len(self._order) - 1)

    def action_select(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.RowSelected(self, self._cursor_key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = round(self.scroll_y) + offset.y - 1
        key = self.key_at(index)
        if key is None:
            return
        self.move_cursor(index)
        self.post_message(self.RowSelected(self, key))

    # --- drawing --------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._row_strips.clear()
        self._header = None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        self._update_layout(width)
        scroll_x = round(self.scroll_x)
        base = self.rich_style
        if y == 0:
            if self._header is None:
                self._header = self._strip(
                    {c.key: Text(c.short_label if c.short and c.short_label else c.label) for c in self._shown_columns},
                    self.get_component_rich_style("virtual-table--header"),
                )
            return self._header.crop_extend(scroll_x, scroll_x + width, base)
        index = round(self.scroll_y) + y - 1
        key = self.key_at(index)
        if key is None and index == 0 and self._empty_text:
            line = Text(self._empty_text, style="italic", no_wrap=True, end="")
            line.truncate(width, overflow="ellipsis", pad=True)
            return Strip(list(line.render(self.app.console)), width).apply_style(base)
        if key is None:
            return Strip.blank(width, base)
        strip = self._row_strips.get(key)
        if strip is None:
            self.rows_rendered += 1
            strip = self._strip(self._rows[key].cells, Style())
            self._row_strips[key] = strip
        strip = strip.crop_extend(scroll_x, scroll_x + width, base)
        if key == self._cursor_key:
            return strip.apply_style(self.get_component_rich_style("virtual-table--cursor"))
        if index % 2:
            return strip.apply_style(self.get_component_rich_style("virtual-table--even-row"))
        return strip

    def _count_widths(self, cells: Cells, change: int) -> None:
        for key, widths in self._cell_widths.items():
            if isinstance(cells, LazyCells):
                width = cells.widths.get(key, 0)
            else:
                cell = cells.get(key)
                width = 0 if cell is None else cell.cell_len
            widths[width] += change
            if not widths[width]:
                del widths[width]

    def _wanted_widths(self) -> dict[str, int]:
        return {key: max(widths, default=0) for key, widths in self._cell_widths.items()}

    def _update_layout(self, width: int) -> None:
        if width == self._layout_width:
            return
        self._layout_width = width
        self._laid_out_for = wanted = self._wanted_widths()
        columns = [c._replace(wide=min(c.wide, wanted[c.key])) if c.key in wanted else c for c in self.columns]
        self._shown_columns = fit_columns(columns, width, self.flex_column)
        self._row_strips.clear()
        self._header = None
        line_width = sum(c.width for c in self._shown_columns) + GAP * max(0, len(self._shown_columns) - 1)
        if line_width != self.virtual_size.width:
            self.virtual_size = Size(line_width, len(self._order) + 1)

    @property
    def shown_columns(self) -> list[Column]:
        """The columns drawn at the current width."""
        return list(self._shown_columns)

    def _strip(self, cells: Mapping[str, Text], style: Style) -> Strip:
        """One line: each cell cut (with an ellipsis) or padded to its column's width, so columns align."""
        line = Text(no_wrap=True, end="")
        for number, column in enumerate(self._shown_columns):
            if number:
                line.append(" " * GAP)
            cell = cells.get(short_key(column.key), cells.get(column.key)) if column.short else cells.get(column.key)
            text = Text(no_wrap=True, end="") if cell is None else cell.copy()
            text.truncate(column.width, overflow="ellipsis")
            pad = column.width - text.cell_len
            if text.justify == "right":
                text.pad_left(pad)
            else:
                text.pad_right(pad)
            line.append_text(text)
        line.stylize_before(style)
        segments = [segment for segment in line.render(self.app.console) if segment.text != "\n"]
        return Strip(Segment.simplify(segments), line.cell_len)

    def _refresh_changed(self, keys: list[str]) -> None:
        """Redraw the lines on screen of rows that changed in place: a bisect each for a few rows, one look
        at the keys on screen for many (a change to all 10,000 rows redraws a screenful)."""
        if len(keys) <= self.scrollable_content_region.height:
            for key in keys:
                self._refresh_row(self.row_index(key))
            return
        top = round(self.scroll_y)
        changed = set(keys)
        for index in range(top, min(len(self._order), top + self.scrollable_content_region.height)):
            if self._order[index][1] in changed:
                self.refresh_line(index + 1)

    def _refresh_row(self, index: int) -> None:
        top = round(self.scroll_y)
        if 0 <= index and top <= index < top + self.scrollable_content_region.height:
            self.refresh_line(index + 1)

    def _refresh_rows_from(self, index: int) -> None:
        """Redraw the lines on screen from row `index` down (rows below a change moved by one)."""
        top = round(self.scroll_y)
        height = self.scrollable_content_region.height
        first = max(index, top)
        if first < top + height:
            self.refresh_lines(first + 1, top + height - first)

    def _keep_cursor_on_line(self, line: int) -> None:
        """Rows came or went above the cursor: scroll so that the cursor row stays where the eye left it."""
        target = self.cursor_row - line
        if target != round(self.scroll_y) and self.scrollable_content_region.height > 1:
            self.scroll_to(y=max(0, target), animate=False, immediate=True)

    def _scroll_cursor_into_view(self) -> None:
        index = self.cursor_row
        height = self.scrollable_content_region.height - 1  # the header line holds no row
        if index < 0 or height < 1:
            return
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)
