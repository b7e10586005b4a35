"""The split view's live preview of one session: its state and activity with their full reasons, its worktree and
work, its output.

What a peer shows beside the list, without opening the modal details. Nothing is read on the event loop: a
thread worker reads the session file, the work cache and the new lines of the agent log, twice a second and
only while the preview is shown on the current screen.
"""

from __future__ import annotations

import os

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Log, Static

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.text import printable
from kugetsu_tui.console.model import ConsoleModel
from kugetsu_tui.console.rows import ACTIVITY_STYLES, STATE_STYLES
from kugetsu_tui.console.worker_errors import ReportsWorkerErrors
from kugetsu_tui.opencode.events import log_line_words
from kugetsu_tui.opencode.log_tail import LogTail
from kugetsu_tui.sessions.activities import Activity
from kugetsu_tui.sessions.overview import read_view
from kugetsu_tui.work.status import NOT_CHECKED, read_work, work_for

REFRESH_INTERVAL = 0.5
LOG_LINES = 500


def _home_relative(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home != "~" and (path == home or path.startswith(home + os.sep)) else path


def gone_text(name: str) -> Text:
    """What the preview and the details pane say of a session whose file has vanished."""
    return Text(f"{printable(name)}: the session file is gone (destroyed?)", style="bold red")


def summary(home: Home, name: str) -> Text:
    """State and full reason, worktree and branch, work status: what tells an operator where a session stands."""
    current = read_view(home, name)
    if current is None:
        return gone_text(name)
    session = current.session
    text = Text()
    text.append(printable(session.issue_ref or session.name), style="bold")
    text.append("  ")
    text.append(current.shown_state.value, style=STATE_STYLES.get(current.shown_state, ""))
    if current.alive:
        text.append(" (agent alive)", style="dim")
    if current.error:
        text.append(f"\nreason: {printable(current.error)}", style="red")
    worktree, branch = session.data.get("worktree_path"), session.data.get("branch_name")
    if isinstance(worktree, str) and worktree:
        text.append(f"\nworktree: {printable(_home_relative(worktree))}")
    if isinstance(branch, str) and branch:
        text.append(f"\nbranch: {printable(branch)}")
    from kugetsu_tui.worktrees.diff import diff_size  # not before the first frame

    size = None if session.corrupt else diff_size(session.data)  # what a destroy would archive, unseen otherwise
    if size is not None:
        text.append(f"\ndiff: {size}")
    status = work_for(read_work(home), session)
    if status != NOT_CHECKED:
        text.append(f"\nwork: {printable(status.label)}", style="bold")
        if status.detail and status.detail != status.label:
            text.append(f" ({printable(status.detail)})")
        if status.checked_at:
            text.append(f", checked {printable(status.checked_at)}", style="dim")
    return text


class PreviewRead(Message):
    """What the reader found for one session: its summary and the new lines of its log, in words."""

    def __init__(self, generation: int, summary: Text, lines: list[str], restarted: bool) -> None:
        super().__init__()
        self.generation = generation
        self.summary = summary
        self.lines = lines
        self.restarted = restarted


class SessionPreview(ReportsWorkerErrors, Vertical):
    """Set `session_name` to follow a session (None shows nothing); hide it with `display = False` to stop reading."""

    DEFAULT_CSS = """
    SessionPreview { height: 1fr; border-left: tall $primary-muted; }
    SessionPreview > #preview-summary { height: auto; max-height: 8; padding: 0 1; }
    SessionPreview > #preview-log-title { background: $primary-muted; padding: 0 1; }
    SessionPreview > Log { height: 1fr; padding: 0 1; }
    """

    session_name: reactive[str | None] = reactive(None)

    def __init__(self, home: Home, model: ConsoleModel | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.home = home
        self.model = model  # what the agents are doing (the table's Activity, here in full)
        self._tail: LogTail | None = None
        self._generation = 0  # bumped when the session changes: a read begun before is dropped
        self.summary_text = ""  # the plain text of the summary on screen
        #: Reads started: the preview's cost, for the tests.
        self.reads = 0

    def compose(self) -> ComposeResult:
        yield Static(id="preview-summary", markup=False)
        yield Static("agent output", id="preview-log-title", markup=False)
        yield Log(highlight=False, max_lines=LOG_LINES)

    def on_mount(self) -> None:
        self._timer = self.set_interval(REFRESH_INTERVAL, self.refresh_if_shown, pause=not self.has_class("shown"))

    def toggle(self) -> bool:
        """Show or hide the preview; its timer runs only while it is shown. Whether it is shown now."""
        self.toggle_class("shown")
        shown = self.has_class("shown")
        if shown:
            self._timer.resume()
        else:
            self._timer.pause()
        return shown

    def watch_session_name(self, name: str | None) -> None:
        self._generation += 1
        self._tail = None if name is None else LogTail(self.home.log_path(name))
        self.summary_text = ""
        if not self.is_mounted:
            return
        self.query_one(Log).clear()
        self.query_one("#preview-summary", Static).update("" if name is None else "reading…")
        self.refresh_if_shown()

    @property
    def shown(self) -> bool:
        return self.display and self.is_mounted and self.screen.is_current

    def refresh_if_shown(self) -> bool:
        """Start a read when the preview is on screen and follows a session; whether one was started."""
        if self._tail is None or self.session_name is None or not self.shown:
            return False
        self.reads += 1
        self._read(self._generation, self.session_name, self._tail)
        return True

    def _activity_line(self) -> Text:
        """The activity with its whole detail (the table's cell shows only its head), and the tokens and cost."""
        info = None if self.model is None or self.session_name is None else self.model.activity.get(self.session_name)
        usage = None if self.model is None or self.session_name is None else self.model.usage.get(self.session_name)
        line = Text()
        if info is not None and info.state != Activity.IDLE:
            line.append("\nactivity: ")
            line.append(
                printable(f"{info.state}: {info.detail}" if info.detail else info.state),
                style=ACTIVITY_STYLES.get(info.state, ""),
            )
        if usage is not None:
            line.append(f"\ntokens: {usage.brief()}")
        return line

    @work(thread=True, group="preview-reader", exit_on_error=False)
    def _read(self, generation: int, name: str, tail: LogTail) -> None:
        new = tail.read()
        if new is None:
            return  # the previous read is still under way
        lines = [log_line_words(line) for line in new.lines]
        self.post_message(PreviewRead(generation, summary(self.home, name), lines, new.restarted))

    def on_preview_read(self, message: PreviewRead) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        shown = message.summary + self._activity_line()
        if shown.plain != self.summary_text:
            self.summary_text = shown.plain
            self.query_one("#preview-summary", Static).update(shown)
        log_widget = self.query_one(Log)
        if message.restarted:
            log_widget.clear()
        if message.lines:
            log_widget.write_lines(message.lines)
