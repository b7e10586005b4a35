"""The details pane: every field of a session file and the live tail of its agent log."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Log, Static

from kugetsu_tui.display import agent_log_line, printable
from kugetsu_tui.home import Home
from kugetsu_tui.overview import view
from kugetsu_tui.sessions import read_session

TAIL_BYTES = 64 * 1024
FOLLOW_INTERVAL = 0.5


def _within(home: Home, path: Path) -> str:
    """A path relative to the home shown in the header: short, and the same on every machine."""
    try:
        return str(path.relative_to(home.root))
    except ValueError:
        return str(path)


def describe(home: Home, name: str) -> Text:
    """All fields of the session file, literally, or why it cannot be read."""
    try:
        session = read_session(home.session_path(name))
    except FileNotFoundError:
        return Text(f"{name}: the session file is gone (destroyed?)", style="bold red")
    current = view(session)
    text = Text()
    text.append(f"{printable(session.name)}", style="bold")
    text.append(f"   {session.kind}, {current.state}{' (agent alive)' if current.alive else ''}\n")
    text.append(f"file: {printable(_within(home, session.path))}\n", style="dim")
    if session.error:
        text.append(f"unusable file: {printable(session.error)}\n", style="bold magenta")
    if current.error and not session.error:
        text.append(f"error: {printable(current.error)}\n", style="red")
    width = max((len(printable(k)) for k in session.data), default=0)
    for key, value in session.data.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        text.append(f"{printable(key).ljust(width)}  ", style="cyan")
        text.append(f"{printable(shown)}\n")
    return text


class DetailsScreen(ModalScreen[None]):
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
        self._log_offset = 0
        self._shown = ""
        self.raw = False  # show the agent's JSON events as they are, not their words

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

    def follow(self) -> None:
        fields = describe(self.home, self.session_name)
        if fields.plain != self._shown:
            self._shown = fields.plain
            self.query_one("#fields", Static).update(fields)
        self._follow_log()

    def _follow_log(self) -> None:
        """Append complete new lines of the log; start over if it was truncated or replaced."""
        log_widget = self.query_one(Log)
        path = self.home.log_path(self.session_name)
        try:
            size = os.path.getsize(path)
        except OSError:
            self.query_one("#log-title", Static).update(f"agent log: {printable(_within(self.home, path))} (none yet)")
            return
        self.query_one("#log-title", Static).update(f"agent log: {printable(_within(self.home, path))}")
        if size < self._log_offset:
            log_widget.clear()
            self._log_offset = 0
        if size == self._log_offset:
            return
        start = self._log_offset or max(0, size - TAIL_BYTES)
        with open(path, "rb") as handle:
            handle.seek(start)
            chunk = handle.read(size - start)
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            return  # wait until the line is complete
        self._log_offset = start + cut
        lines = chunk[:cut].decode("utf-8", "replace").splitlines()
        log_widget.write_lines(printable(line) if self.raw else agent_log_line(line) for line in lines)

    def action_toggle_raw(self) -> None:
        """Re-read the tail in the other form."""
        self.raw = not self.raw
        self.query_one(Log).clear()
        self._log_offset = 0
        self._follow_log()

    def action_close(self) -> None:
        self.dismiss(None)
