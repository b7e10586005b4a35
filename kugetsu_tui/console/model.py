"""What the console shows, as plain data: the sessions, the capacity figure, the filter, undo.

No Textual here (an import contract checks it), so the model is tested without a screen: the
app feeds it what its workers read and sample, and the main screen draws what it says.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from kugetsu_tui.admission import refusal
from kugetsu_tui.config import Limit
from kugetsu_tui.home import Home
from kugetsu_tui.overview import SessionView, view
from kugetsu_tui.sessions import KIND_DEV, read_session, session_paths

#: process stats of one agent tree: (CPU %, resident memory in bytes)
Stats = tuple[float, int]


class Capacity(NamedTuple):
    """The footer's figure: how many dev sessions hold a slot, the limit, and how changes are seen."""

    active: int
    limit: Limit
    watcher_mode: str


class RowChanges(NamedTuple):
    """Table work to do: rows to add or redraw, and rows to take away (gone or filtered out)."""

    shown: list[SessionView]
    hidden: list[str]


def read_changes(home: Home, known: Iterable[str], names: set[str] | None) -> tuple[list[SessionView], list[str]]:
    """Re-read the named session files (all of them when `names` is None): fresh views and gone names.

    Runs in a worker thread: it reads files and /proc.
    """
    if names is None:
        paths = session_paths(home.sessions_dir)
        present = {p.name[:-5] for p in paths}
        gone = [n for n in known if n not in present]
    else:
        paths = [home.sessions_dir / n for n in names]
        gone = []
    fresh = []
    for path in paths:
        try:
            fresh.append(view(read_session(path)))
        except FileNotFoundError:
            gone.append(path.name[:-5])
    return fresh, gone


class ConsoleModel:
    """The sessions by name, the active count kept incrementally, and rows not drawn yet."""

    def __init__(self, limit: Limit) -> None:
        self.views: dict[str, SessionView] = {}
        self.active = 0
        self.limit = limit
        self.watcher_mode = "starting"
        self.stats: dict[str, Stats] = {}
        self.filter_text = ""
        self.undo_stack: list[str] = []
        self._with_pid: set[str] = set()  # the sessions the process sampler has to look at
        self._pending: dict[str, SessionView | None] = {}  # rows not drawn yet (None: gone)

    # --- the sessions ----------------------------------------------------------------------------

    def merge(self, fresh: Iterable[SessionView], gone: Iterable[str], recount: bool = False) -> None:
        """Fold re-read sessions in; the count follows incrementally (or is recounted on a rescan)."""
        for name in gone:
            old = self.views.pop(name, None)
            if old is not None:
                self._with_pid.discard(name)
                self.active -= old.session.kind == KIND_DEV
                self._pending[name] = None
        for item in fresh:
            name = item.session.name
            if name not in self.views:
                self.active += item.session.kind == KIND_DEV
            self.views[name] = item
            if item.session.pid:
                self._with_pid.add(name)
            else:
                self._with_pid.discard(name)
            self._pending[name] = item
        if recount:
            self.active = sum(1 for v in self.views.values() if v.session.kind == KIND_DEV)

    def take_row_changes(self) -> RowChanges:
        """The rows to draw since the last call, folded: a row changed ten times is drawn once."""
        pending, self._pending = self._pending, {}
        shown = [v for v in pending.values() if v is not None and self.matches(v)]
        hidden = [name for name, v in pending.items() if v is None or not self.matches(v)]
        return RowChanges(shown, hidden)

    @property
    def has_pending_rows(self) -> bool:
        return bool(self._pending)

    # --- capacity --------------------------------------------------------------------------------

    @property
    def capacity(self) -> Capacity:
        return Capacity(self.active, self.limit, self.watcher_mode)

    def start_refusal(self) -> str | None:
        """The core's refusal text when no dev session may start now, else None."""
        error = refusal("start a dev session", self.limit, self.active)
        return None if error is None else str(error)

    # --- agent processes -------------------------------------------------------------------------

    def watched_processes(self) -> dict[str, tuple[int, float | None]]:
        """name -> (pid, recorded start time) of every session whose agent may be running."""
        watched = {}
        for name in list(self._with_pid):
            item = self.views.get(name)
            if item is not None and item.session.pid:
                started = item.session.data.get("pid_started")
                watched[name] = (item.session.pid, started if isinstance(started, (int, float)) else None)
        return watched

    def apply_samples(self, alive: dict[str, bool], stats: dict[str, Stats]) -> None:
        """Take a process sample: rows whose agent came or went are re-derived and redrawn."""
        self.stats = stats
        changed = [view(v.session, alive[n]) for n, v in self.views.items() if n in alive and v.alive != alive[n]]
        if changed:
            self.merge(changed, [])

    # --- the filter ------------------------------------------------------------------------------

    def matches(self, item: SessionView) -> bool:
        if not self.filter_text:
            return True
        s = item.session
        haystack = " ".join(str(x) for x in (s.name, s.issue_ref, s.opencode_session_id, item.shown_state, s.kind)
                            if x)
        return self.filter_text.lower() in haystack.lower()

    def refilter(self, text: str, shown_names: Iterable[str]) -> RowChanges:
        """A new filter text: the rows to add and the rows to take away, given those on screen."""
        self.filter_text = text.strip()
        shown = set(shown_names)
        show = [v for v in self.views.values() if self.matches(v) and v.session.name not in shown]
        hide = [n for n in shown if n not in self.views or not self.matches(self.views[n])]
        return RowChanges(show, hide)


def config_stamp(home: Home) -> tuple[float | None, ...]:
    """When the files the limit comes from last changed: the console re-reads the limit only then."""
    return tuple(_mtime(p) for p in (home.config_toml, home.legacy_config))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
