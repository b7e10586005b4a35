"""The details pane: every field of a session file and the live tail of its agent log.

Nothing is read on the event loop: a thread worker reads the file, /proc and the log twice a
second and posts what it found; the screen only draws it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Log, Static

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.text import printable
from kugetsu_tui.console.preview import gone_text
from kugetsu_tui.console.worker_errors import ReportsWorkerErrors
from kugetsu_tui.opencode.events import log_line_words
from kugetsu_tui.opencode.log_tail import LogTail
from kugetsu_tui.sessions.fields import INTERNAL
from kugetsu_tui.sessions.files import KIND_DEV, Session
from kugetsu_tui.sessions.overview import read_view

FOLLOW_INTERVAL = 0.5


def _within(home: Home, path: Path) -> str:
    """A path relative to the home shown in the header: short, and the same on every machine."""
    try:
        return str(path.relative_to(home.root))
    except ValueError:
        return str(path)


def describe(home: Home, name: str) -> Text:
    """All fields of the session file, literally, or why it cannot be read."""
    current = read_view(home, name)
    if current is None:
        return gone_text(name)
    session = current.session
    text = Text()
    text.append(f"{printable(session.name)}", style="bold")
    text.append(f"   {session.kind}, {current.shown_state}{' (agent alive)' if current.alive else ''}\n")
    text.append(f"file: {printable(_within(home, session.path))}\n", style="dim")
    if session.error:
        text.append(f"unusable file: {printable(session.error)}\n", style="bold magenta")
    if current.error and not session.error:
        text.append(f"error: {printable(current.error)}\n", style="red")
    text.append(_worktree_line(session))
    text.append(_work_line(home, session))
    ours = [k for k in session.data if k in INTERNAL]
    theirs = [k for k in session.data if k not in INTERNAL]
    width = max((len(printable(k)) for k in session.data), default=0)
    for key in theirs:
        text.append(_field(home, key, session.data[key], width))
    if ours:
        text.append("kugetsu-tui's own fields (for the supervisor and the cap's checks)\n", style="dim italic")
        for key in ours:
            text.append(_field(home, key, session.data[key], width, style="dim"))
    return text


def _field(home: Home, key: str, value: object, width: int, style: str = "") -> Text:
    """One field, literally; epoch start times as local times, and our own paths relative to the home."""
    if key.endswith("_started") and isinstance(value, (int, float)) and not isinstance(value, bool):
        shown = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    elif key == "log" and isinstance(value, str):
        shown = _within(home, Path(value))
    else:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    line = Text()
    line.append(f"{printable(key).ljust(width)}  ", style="cyan")
    line.append(f"{printable(shown)}\n", style=style)
    return line


def _worktree_line(session: Session) -> Text:
    """The worktree, its branch and how far its work has got (runs git: this is read in a thread)."""
    from kugetsu_tui.worktrees.progress import worktree_progress

    path, branch = session.data.get("worktree_path"), session.data.get("branch_name")
    if session.corrupt or not isinstance(path, str) or not path:
        return Text()
    line = Text(f"worktree: {printable(path)}", style="green")
    if isinstance(branch, str):
        line.append(f" on {printable(branch)}")
    progress = worktree_progress(session.data)
    if progress is None:
        line.append(" (not there, or not readable now)", style="dim")
    else:
        line.append(
            f": {progress.files_changed} files changed ({progress.uncommitted} not committed), "
            f"{progress.commits_ahead} commits ahead of the base"
        )
    line.append("\n")
    return line


def _work_line(home: Home, session: Session) -> Text:
    """The session's work status as last checked (the cache: no network here)."""
    from kugetsu_tui.work.status import read_work, work_for

    if session.kind != KIND_DEV:
        return Text()
    status = work_for(read_work(home), session)
    line = Text(f"work: {status.state}: {printable(status.detail)}", style="bold" if status.done else "")
    if status.source:
        line.append(f" [{status.source}]", style="dim")
    if status.url:
        line.append(f" {printable(status.url)}")
    if status.checked_at:
        line.append(f" (checked {printable(status.checked_at)})", style="dim")
    line.append("\n")
    return line


class DetailsRead(Message):
    """What the reader found: the fields, the log's title, and its new lines as they will be shown."""

    def __init__(self, generation: int, fields: Text, log_title: str, lines: list[str], restarted: bool) -> None:
        super().__init__()
        self.generation = generation
        self.fields = fields
        self.log_title = log_title
        self.lines = lines
        self.restarted = restarted


class DetailsScreen(ReportsWorkerErrors, ModalScreen[None]):
    """Fields on top, log below; both follow the files while the pane is open."""

    DEFAULT_CSS = """
    DetailsScreen { align: center middle; }
    DetailsScreen > Vertical { width: 100%; height: 100%; border: thick $primary; background: $surface; }
    DetailsScreen #fields-scroll { height: auto; max-height: 50%; }
    DetailsScreen #fields { height: auto; padding: 0 1; }
    DetailsScreen #log-title { background: $primary-muted; padding: 0 1; }
    DetailsScreen Log { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q,enter,space", "close", "Close"),
        Binding("r", "toggle_raw", "Raw log lines"),
    ]

    def __init__(self, home: Home, name: str) -> None:
        super().__init__()
        self.home = home
        self.session_name = name
        self.tail = LogTail(home.log_path(name))
        self._shown = ""
        self.raw = False  # show the agent's JSON events as they are, not their words
        self._generation = 0  # bumped by `r`: a read begun before it is dropped

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="fields-scroll"):
                yield Static(id="fields", markup=False)
            yield Static("agent log", id="log-title", markup=False)
            yield Log(highlight=False, max_lines=2000)
        yield Footer()

    def on_mount(self) -> None:
        self.follow()
        self.set_interval(FOLLOW_INTERVAL, self.follow)

    @work(thread=True, group="details-reader", exit_on_error=False)
    def follow(self) -> None:
        generation, raw = self._generation, self.raw
        fields = describe(self.home, self.session_name)
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
        if message.fields.plain != self._shown:
            self._shown = message.fields.plain
            self.query_one("#fields", Static).update(message.fields)
        self.query_one("#log-title", Static).update(message.log_title)
        log_widget = self.query_one(Log)
        if message.restarted:
            log_widget.clear()
        if message.lines:
            log_widget.write_lines(message.lines)

    def action_toggle_raw(self) -> None:
        """Re-read the tail in the other form."""
        self.raw = not self.raw
        self._generation += 1
        self.query_one(Log).clear()
        self.tail.restart()
        self.follow()

    def action_close(self) -> None:
        self.dismiss(None)
