"""The details pane: every field of a session file and the live tail of its agent log, in one scroll.

Nothing is read on the event loop: a thread worker reads the file, /proc and the log twice a
second and posts what it found; the screen only draws it.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.text import printable
from kugetsu_tui.console.preview import gone_text
from kugetsu_tui.console.worker_errors import ReportsWorkerErrors
from kugetsu_tui.opencode.events import log_line_words
from kugetsu_tui.opencode.log_tail import LogTail
from kugetsu_tui.opencode.usage import Usage
from kugetsu_tui.sessions.fields import INTERNAL
from kugetsu_tui.sessions.files import KIND_DEV, Session
from kugetsu_tui.sessions.overview import read_view

FOLLOW_INTERVAL = 0.5
LOG_LINES = 2000
FIELD_GAP = 3  # blank cells between two columns of fields
OURS_TITLE = "kugetsu-tui's own fields (for the supervisor and the cap's checks)"

#: A field as shown: its key, its value (both printable already) and the value's style.
Field = tuple[str, str, str]


def _within(home: Home, path: Path) -> str:
    """A path relative to the home shown in the header: short, and the same on every machine."""
    try:
        return str(path.relative_to(home.root))
    except ValueError:
        return str(path)


class FieldGrid:
    """Key-value pairs laid out at the width they are drawn at: the short ones in as many columns as fit
    (read down, then across), the long ones on lines of their own, wrapping under their value.

    A rich renderable, so the layout follows the pane's width on every draw (a resize needs no re-read).
    """

    def __init__(self, fields: Sequence[Field], key_width: int) -> None:
        self.fields = list(fields)
        self.key_width = key_width

    @property
    def plain(self) -> str:
        return "".join(f"{key.ljust(self.key_width)}  {value}\n" for key, value, _ in self.fields)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        half = (width - FIELD_GAP) // 2
        short = [f for f in self.fields if self.key_width + 2 + cell_len(f[1]) <= half]
        cell = self.key_width + 2 + max((cell_len(value) for _, value, _ in short), default=width)
        columns = (width + FIELD_GAP) // (cell + FIELD_GAP)
        if columns < 2:
            yield self._grid(self.fields, 1)
            return
        yield self._grid(short, columns)
        rest = [f for f in self.fields if f not in short]
        if rest:
            yield self._grid(rest, 1)

    def _grid(self, fields: Sequence[Field], columns: int) -> Table:
        grid = Table.grid(expand=columns == 1)
        for column in range(columns):
            if column:
                grid.add_column(width=FIELD_GAP)
            grid.add_column(width=self.key_width + 2, no_wrap=True)
            grid.add_column(ratio=1 if columns == 1 else None, overflow="fold")
        rows = -(-len(fields) // columns)
        for row in range(rows):
            cells: list[Text] = []
            for column in range(columns):
                index = column * rows + row
                key, value, style = fields[index] if index < len(fields) else ("", "", "")
                cells += [*([Text()] if column else []), Text(key, style="cyan"), Text(value, style=style)]
            grid.add_row(*cells)
        return grid


class Details:
    """What the pane shows of a session: a header, its worktree and work, kugetsu's fields, then our own."""

    def __init__(
        self, header: Text, summary: Sequence[Field] = (), theirs: Sequence[Field] = (), ours: Sequence[Field] = ()
    ) -> None:
        width = max((cell_len(key) for key, _, _ in (*summary, *theirs)), default=0)
        self.header = header
        self.grids = [FieldGrid(summary, width), FieldGrid(theirs, width)]
        self.ours = FieldGrid(ours, max((cell_len(key) for key, _, _ in ours), default=0))

    @property
    def plain(self) -> str:
        """The text shown, without its layout: what the pane compares to skip a redraw, and the tests read."""
        ours = f"{OURS_TITLE}\n{self.ours.plain}" if self.ours.fields else ""
        return self.header.plain + "".join(grid.plain for grid in self.grids) + ours

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.header
        yield from (grid for grid in self.grids if grid.fields)
        if self.ours.fields:
            yield Text(OURS_TITLE, style="dim italic")
            yield self.ours


def describe(home: Home, name: str, usage: Usage | None = None) -> Details:
    """All fields of the session file, literally, or why it cannot be read; `usage` as the server counts it."""
    current = read_view(home, name)
    if current is None:
        return Details(gone_text(name))
    session = current.session
    header = Text()
    header.append(f"{printable(session.name)}", style="bold")
    header.append(f"   {session.kind}, {current.shown_state}{' (agent alive)' if current.alive else ''}\n")
    header.append(f"file: {printable(_within(home, session.path))}", style="dim")
    if session.error:
        header.append(f"\nunusable file: {printable(session.error)}", style="bold magenta")
    if current.error and not session.error:
        header.append(f"\nerror: {printable(current.error)}", style="red")
    return Details(
        header,
        [*_worktree_fields(session), *_work_fields(home, session), *_usage_fields(usage)],
        [_field(home, key, value) for key, value in session.data.items() if key not in INTERNAL],
        [_field(home, key, value, style="dim") for key, value in session.data.items() if key in INTERNAL],
    )


def _field(home: Home, key: str, value: object, style: str = "") -> Field:
    """One field, literally; epoch start times as local times, and our own paths relative to the home."""
    if key.endswith("_started") and isinstance(value, (int, float)) and not isinstance(value, bool):
        shown = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    elif key == "log" and isinstance(value, str):
        shown = _within(home, Path(value))
    else:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return (printable(key), printable(shown), style)


def _usage_fields(usage: Usage | None) -> list[Field]:
    """Tokens and cost, when the opencode server counts them (nothing is shown without one)."""
    return [] if usage is None else [("tokens", usage.brief(), "")]


def _worktree_fields(session: Session) -> list[Field]:
    """The worktree and how far its work has got (runs git: this is read in a thread)."""
    from kugetsu_tui.worktrees.progress import worktree_progress

    path = session.data.get("worktree_path")
    if session.corrupt or not isinstance(path, str) or not path:
        return []
    progress = worktree_progress(session.data)
    if progress is None:
        return [("worktree", f"{printable(path)} (not there, or not readable now)", "green")]
    return [("worktree", printable(path), "green"), ("progress", progress.summary(), "")]


def _work_fields(home: Home, session: Session) -> list[Field]:
    """The session's work status as last checked (the cache: no network here)."""
    from kugetsu_tui.work.status import read_work, work_for

    if session.kind != KIND_DEV:
        return []
    status = work_for(read_work(home), session)
    shown = f"{status.state}: {printable(status.detail)}"
    if status.source:
        shown += f" [{status.source}]"
    if status.url:
        shown += f" {printable(status.url)}"
    if status.checked_at:
        shown += f" (checked {printable(status.checked_at)})"
    return [("work", shown, "bold" if status.done else "")]


class DetailsRead(Message):
    """What the reader found: the fields, the log's title, and its new lines as they will be shown."""

    def __init__(self, generation: int, fields: Details, log_title: str, lines: list[str], restarted: bool) -> None:
        super().__init__()
        self.generation = generation
        self.fields = fields
        self.log_title = log_title
        self.lines = lines
        self.restarted = restarted


class LogLines(Static):
    """The last lines of the agent log, wrapped: part of the pane's one scroll, not a scroll of its own."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self._lines: deque[str] = deque(maxlen=LOG_LINES)

    @property
    def lines(self) -> list[str]:
        return list(self._lines)

    def write_lines(self, lines: Iterable[str]) -> None:
        self._lines.extend(lines)
        self.update(Text("\n".join(self._lines)))

    def clear(self) -> None:
        self._lines.clear()
        self.update("")


class DetailsScreen(ReportsWorkerErrors, ModalScreen[None]):
    """The fields, then the log, in one scroll (Up/Down a line, PageUp/PageDown a page, Home/End); both
    follow the files while the pane is open, and the view follows the log when it was scrolled to its end."""

    DEFAULT_CSS = """
    DetailsScreen { align: center middle; }
    DetailsScreen > Vertical { width: 100%; height: 100%; border: thick $primary; background: $surface; }
    DetailsScreen #details-scroll { height: 1fr; overflow-x: hidden; }
    DetailsScreen #fields { height: auto; padding: 0 1; }
    DetailsScreen #log-title { background: $primary-muted; padding: 0 1; margin-top: 1; }
    DetailsScreen #log { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q,enter,space", "close", "Close"),
        Binding("r", "toggle_raw", "Raw log lines"),
    ]

    def __init__(self, home: Home, name: str, usage: Callable[[], Usage | None] = lambda: None) -> None:
        super().__init__()
        self.home = home
        self.session_name = name
        self.usage = usage  # the session's tokens and cost as last read from the server
        self.tail = LogTail(home.log_path(name))
        self.shown_fields = ""  # the plain text of the fields on screen
        self.raw = False  # show the agent's JSON events as they are, not their words
        self._generation = 0  # bumped by `r`: a read begun before it is dropped

    def compose(self) -> ComposeResult:
        with Vertical(), VerticalScroll(id="details-scroll"):
            yield Static(id="fields", markup=False)
            yield Static("agent log", id="log-title", markup=False)
            yield LogLines(id="log")
        yield Footer()

    @property
    def scroll(self) -> VerticalScroll:
        return self.query_one("#details-scroll", VerticalScroll)

    def on_mount(self) -> None:
        self.scroll.focus()
        self.follow()
        self.set_interval(FOLLOW_INTERVAL, self.follow)

    @work(thread=True, group="details-reader", exit_on_error=False)
    def follow(self) -> None:
        generation, raw = self._generation, self.raw
        fields = describe(self.home, self.session_name, self.usage())
        new = self.tail.read()
        if new is None:
            return  # the previous read is still under way
        where = printable(_within(self.home, self.tail.path))
        title = f"agent log: {where}" if new.exists else f"agent log: {where} (none yet)"
        lines = [printable(line) if raw else log_line_words(line) for line in new.lines]
        self.post_message(DetailsRead(generation, fields, title, lines, new.restarted))

    def on_details_read(self, message: DetailsRead) -> None:
        if message.generation != self._generation:
            return
        if message.fields.plain != self.shown_fields:
            self.shown_fields = message.fields.plain
            self.query_one("#fields", Static).update(message.fields)
        self.query_one("#log-title", Static).update(message.log_title)
        log_lines = self.query_one(LogLines)
        scroll = self.scroll
        at_end = 0 < scroll.scroll_y >= scroll.max_scroll_y
        if message.restarted:
            log_lines.clear()
        if message.lines:
            log_lines.write_lines(message.lines)
            if at_end:
                self.call_after_refresh(scroll.scroll_end, animate=False)

    def action_toggle_raw(self) -> None:
        """Re-read the tail in the other form."""
        self.raw = not self.raw
        self._generation += 1
        self.query_one(LogLines).clear()
        self.tail.restart()
        self.follow()

    def action_close(self) -> None:
        self.dismiss(None)
