"""The operator console: a live table of sessions with keys for every action.

Every action goes through the core (`actions`, `archive`, `admission`), so the console can
never bypass the cap. Watching and process sampling run in workers; the UI never blocks.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input

from kugetsu_tui.admission import refusal
from kugetsu_tui.config import LIMIT_ENV, Limit, resolve_limit, save_limit
from kugetsu_tui.console.capacity import CapacityBar
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.display import printable
from kugetsu_tui.errors import KugetsuError
from kugetsu_tui.home import Home
from kugetsu_tui.overview import SessionView, view
from kugetsu_tui.process import ProcessSampler
from kugetsu_tui.sessions import KIND_BASE, KIND_DEV, KIND_PM, count_active, read_session, session_paths
from kugetsu_tui.watch import Batch, session_batches

STATS_INTERVAL = 1.0


class KugetsuConsole(App[None]):
    TITLE = "kugetsu-tui"
    CSS = """
    #filter { display: none; }
    #filter.shown { display: block; }
    #bottom { dock: bottom; height: 1; }
    #bottom Footer { dock: none; width: 1fr; }
    """
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("s", "explain_start", show=False),
        Binding("c", "continue_session", "Continue"),
        Binding("d", "destroy", "Destroy"),
        Binding("u", "undo", "Undo"),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter"),
        Binding("space", "details", "Details", show=False),
        # Shown in help and the palette; left out of the footer so it fits 80 columns.
        Binding("plus", "limit(1)", "Raise limit", key_display="+", show=False),
        Binding("minus", "limit(-1)", "Lower limit", key_display="-", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, home: Home, *, clock: Callable[[], float] = time.time, force_polling: bool = False,
                 sample_processes: bool = True) -> None:
        super().__init__()
        self.home = home
        self.clock = clock
        self.force_polling = force_polling
        self.sample_processes = sample_processes
        self.sub_title = printable(home.root)
        self.views: dict[str, SessionView] = {}
        self.active = 0
        self.limit: Limit = Limit(None, "not read yet", "not read yet")
        self.watcher_mode = "starting"
        self.stats: dict[str, tuple[float, int]] = {}
        self.filter_text = ""
        self.undo_stack: list[str] = []
        self._sampler = ProcessSampler()
        self._start_allowed: bool | None = None
        self._with_pid: set[str] = set()  # the sessions the process sampler has to look at
        self._pending_rows: dict[str, SessionView | None] = {}  # table updates not drawn yet (None: gone)
        self._flush_scheduled = False
        self._config_stamp: tuple[float | None, ...] = ()
        self._stop_watching = asyncio.Event()

    # --- layout and start-up ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: text in name, issue, id or state (Enter keeps, Escape clears)",
                    id="filter", compact=True)
        yield SessionTable(clock=self.clock, id="sessions")
        with Horizontal(id="bottom"):
            yield CapacityBar(id="capacity")
            yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        # The figure first (a directory listing), the rows as soon as the watcher has read them.
        self.active = count_active(self.home)
        self.limit = resolve_limit(self.home)
        self._capacity_changed()
        self.query_one(SessionTable).focus()
        self.watch_sessions()
        self.set_interval(STATS_INTERVAL, self.tick)

    async def on_unmount(self) -> None:
        self._stop_watching.set()

    # --- keeping the model in step with the directory ---------------------------------------

    @work(exclusive=True, group="session-watcher")
    async def watch_sessions(self) -> None:
        async for batch in session_batches(self.home.sessions_dir, self._stop_watching,
                                           on_mode=self._set_watcher_mode, force_polling=self.force_polling):
            await self.apply_batch(batch)

    def _set_watcher_mode(self, mode: str) -> None:
        self.watcher_mode = mode
        self._capacity_changed()

    async def apply_batch(self, batch: Batch) -> None:
        """Re-read only the files named in the batch (all of them on a rescan) and update the rows."""
        names = None if batch.rescan else set(batch.names)
        fresh, gone = await asyncio.to_thread(self._read, names)
        self._merge(fresh, gone, recount=batch.rescan)

    def _read(self, names: set[str] | None) -> tuple[list[SessionView], list[str]]:
        if names is None:
            paths = session_paths(self.home.sessions_dir)
            present = {p.name[:-5] for p in paths}
            gone = [n for n in list(self.views) if n not in present]
        else:
            paths = [self.home.sessions_dir / n for n in names]
            gone = []
        fresh = []
        for path in paths:
            try:
                fresh.append(view(read_session(path)))
            except FileNotFoundError:
                gone.append(path.name[:-5])
        return fresh, gone

    def _merge(self, fresh: Iterable[SessionView], gone: Iterable[str], recount: bool = False) -> None:
        """Fold re-read sessions into the model and the table; the count follows incrementally."""
        if not self.is_running:
            return  # shutting down: a late batch or sample has no screen to update
        removed = []
        for name in gone:
            old = self.views.pop(name, None)
            if old is not None:
                removed.append(name)
                self._with_pid.discard(name)
                self.active -= old.session.kind == KIND_DEV
        changed = []
        for item in fresh:
            old = self.views.get(item.session.name)
            if old is None:
                self.active += item.session.kind == KIND_DEV
            self.views[item.session.name] = item
            if item.session.pid:
                self._with_pid.add(item.session.name)
            else:
                self._with_pid.discard(item.session.name)
            changed.append(item)
        if recount:
            self.active = sum(1 for v in self.views.values() if v.session.kind == KIND_DEV)
        # The figure first, in a frame of its own; the table, whose redraw costs tens of
        # milliseconds, right after, with every batch that arrived meanwhile folded into one update.
        self._capacity_changed()
        for name in removed:
            self._pending_rows[name] = None
        for item in changed:
            self._pending_rows[item.session.name] = item
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.call_after_refresh(self._flush_rows)

    def _flush_rows(self) -> None:
        self._flush_scheduled = False
        pending, self._pending_rows = self._pending_rows, {}
        shown = [v for v in pending.values() if v is not None and self._matches(v)]
        hidden = [name for name, v in pending.items() if v is None or not self._matches(v)]
        self.query_one(SessionTable).apply(shown, hidden, self.stats)

    def _matches(self, item: SessionView) -> bool:
        if not self.filter_text:
            return True
        s = item.session
        haystack = " ".join(str(x) for x in (s.name, s.issue_ref, s.opencode_session_id, item.state, s.kind) if x)
        return self.filter_text.lower() in haystack.lower()

    def tick(self) -> None:
        """Once a second: re-read the limit if its files changed, and sample the live agents in a thread."""
        stamp = tuple(_mtime(p) for p in (self.home.config_toml, self.home.legacy_config))
        if stamp != self._config_stamp:
            self._config_stamp = stamp
            limit = resolve_limit(self.home)
            if limit != self.limit:
                self.limit = limit
                self._capacity_changed()
        if self.sample_processes and self._with_pid:
            self.sample()
        else:
            self.query_one(SessionTable).refresh_live_cells(self.views, self.stats)

    @work(thread=True, exclusive=True, group="process-stats")
    def sample(self) -> None:
        """CPU and memory of the agents that should be running, and which of them still are."""
        watched = {n: (v.session.pid, v.session.data.get("pid_started"))
                   for n in list(self._with_pid) if (v := self.views.get(n)) is not None and v.session.pid}
        stats = self._sampler.sample(watched) if watched else {}
        alive = {name: name in stats for name in watched}
        self.call_from_thread(self._apply_samples, alive, stats)

    def _apply_samples(self, alive: dict[str, bool], stats: dict[str, tuple[float, int]]) -> None:
        if not self.is_running:
            return
        self.stats = stats
        changed = [view(v.session, alive[n]) for n, v in self.views.items()
                   if n in alive and v.alive != alive[n]]
        if changed:
            self._merge(changed, [])
        self.query_one(SessionTable).refresh_live_cells(self.views, self.stats)

    def _capacity_changed(self) -> None:
        if not self.is_running:
            return
        self.query_one(CapacityBar).show(self.active, self.limit, self.watcher_mode)
        start_allowed = self.start_refusal() is None
        if start_allowed != self._start_allowed:  # the footer is rebuilt only when it must change
            self._start_allowed = start_allowed
            self.refresh_bindings()

    # --- which keys are available -----------------------------------------------------------

    def start_refusal(self) -> str | None:
        """The core's refusal text when no dev session may start now, else None."""
        error = refusal("start a dev session", self.limit, self.active)
        return None if error is None else str(error)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return None if self.start_refusal() else True
        if action in ("continue_session", "destroy", "details"):
            return True if self.selected() else None
        if action == "undo":
            return True if self.undo_stack else None
        if action == "clear_filter":
            return self.query_one("#filter", Input).has_class("shown")
        return True

    def selected(self) -> SessionView | None:
        name = self.query_one(SessionTable).selected_name
        return self.views.get(name) if name else None

    # --- actions ------------------------------------------------------------------------------

    def action_start(self) -> None:
        reason = self.start_refusal()
        if reason:
            self._explain_refusal(reason)
            return
        from kugetsu_tui.console.dialogs import StartDialog  # screens load when first used: faster start-up

        capacity = f"{self.active}/{self.limit.value} active"
        self.push_screen(StartDialog(capacity), self._start_confirmed)

    def action_explain_start(self) -> None:
        self._explain_refusal(self.start_refusal() or "start is available again")

    def _explain_refusal(self, reason: str) -> None:
        title = "Limit invalid" if self.limit.value is None else "At capacity"
        self.notify(reason, title=title, severity="warning", markup=False)

    def _start_confirmed(self, answer: tuple[str, str] | None) -> None:
        if answer:
            self.run_start(*answer)

    @work(thread=True, group="actions")
    def run_start(self, ref: str, message: str) -> None:
        from kugetsu_tui.actions import start_session

        self._report(lambda: start_session(self.home, ref, message),
                     lambda done: f"started {done.issue_ref} (opencode session {done.opencode_session_id or 'pending'})")

    def action_continue_session(self) -> None:
        from kugetsu_tui.console.dialogs import MessageDialog

        item = self.selected()
        if item is None:
            return
        self.push_screen(MessageDialog(f"Continue {printable(item.session.issue_ref or item.session.name)}"),
                         lambda message: message is not None and self.run_continue(item.session.name, message))

    @work(thread=True, group="actions")
    def run_continue(self, name: str, message: str) -> None:
        from kugetsu_tui.actions import continue_session

        self._report(lambda: continue_session(self.home, name, message or None),
                     lambda done: f"continued {done.name}")

    def action_destroy(self) -> None:
        from kugetsu_tui.console.dialogs import ConfirmDialog

        item = self.selected()
        if item is None:
            return
        s = item.session
        label = printable(s.issue_ref or s.name)
        steps = []
        if item.alive:
            steps.append(f"its agent (pid {s.pid}) is stopped")
        if s.opencode_session_id and not s.corrupt:
            steps.append("its opencode transcript is exported to the archive and the opencode session deleted")
        steps.append("the session file and log are moved to the archive (u undoes, `kugetsu-tui restore` too)")
        if s.kind == KIND_DEV:
            steps.append(f"a slot is freed ({self.active - 1}/{self.limit.value or '?'} after)")
        body = "\n".join(f"• {step}" for step in steps)
        special = {KIND_BASE: "the BASE session (every dev session is forked from it)",
                   KIND_PM: "the PM agent session"}.get(s.kind)

        def first(yes: bool | None) -> None:
            if not yes:
                return
            if special is None:
                self.run_destroy(s.name, s.kind)
                return
            self.push_screen(ConfirmDialog(f"Really destroy {special}?",
                                           "This is not a dev session. Press y to confirm.", danger=True,
                                           enter_confirms=False),
                             lambda again: again and self.run_destroy(s.name, s.kind))

        self.push_screen(ConfirmDialog(f"Destroy {label}?", body, danger=special is not None), first)

    @work(thread=True, group="actions")
    def run_destroy(self, name: str, kind: str) -> None:
        from kugetsu_tui.archive import destroy_session

        def destroy():
            result = destroy_session(self.home, name, allow_base=kind == KIND_BASE, allow_pm=kind == KIND_PM)
            self.call_from_thread(self._remember_destroyed, result.entry.id)
            for warning in result.warnings:
                self.call_from_thread(self.notify, warning, severity="warning", markup=False)
            return result

        self._report(destroy, lambda done: f"destroyed {done.entry.session_name}: archived (u to undo)")

    def _remember_destroyed(self, entry_id: str) -> None:
        self.undo_stack.append(entry_id)
        self.refresh_bindings()

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("nothing to undo", markup=False)
            return
        self.run_undo(self.undo_stack.pop())
        self.refresh_bindings()

    @work(thread=True, group="actions")
    def run_undo(self, entry_id: str) -> None:
        from kugetsu_tui.archive import restore_session

        if self._report(lambda: restore_session(self.home, entry_id), lambda s: f"restored {s.name}") is None:
            self.call_from_thread(self._remember_destroyed, entry_id)

    def _report(self, act, success):
        """Run a core action in this worker thread; announce the outcome. Returns None on failure."""
        try:
            done = act()
        except KugetsuError as exc:
            self.call_from_thread(self.notify, str(exc), title="Refused" if exc.exit_code == 2 else "Failed",
                                  severity="warning" if exc.exit_code == 2 else "error", timeout=10, markup=False)
            return None
        except OSError as exc:
            self.call_from_thread(self.notify, f"{exc.strerror or exc}: {exc.filename or ''}", title="Failed",
                                  severity="error", timeout=10, markup=False)
            return None
        self.call_from_thread(self.notify, success(done), markup=False)
        return done

    def action_limit(self, delta: int) -> None:
        if self.limit.value is None:
            self.notify(f"Fix the limit first: {self.limit.error}", severity="error", markup=False)
            return
        value = self.limit.value + delta
        if value < 1:
            self.notify("the limit is already 1, the lowest it can be", markup=False)
            return
        try:
            save_limit(self.home, value)
        except KugetsuError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        if os.environ.get(LIMIT_ENV, ""):
            self.notify(f"saved {value} to config.toml, but {LIMIT_ENV} in the environment overrides it",
                        severity="warning", markup=False)
        self.limit = resolve_limit(self.home)
        self._capacity_changed()
        if self.limit.value is not None and self.active > self.limit.value:
            self.notify(f"limit {self.limit.value}: {self.active} dev sessions already exist; no new start until "
                        f"{self.active - self.limit.value + 1} of them are destroyed", severity="warning", markup=False)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()
        self.refresh_bindings()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        table = self.query_one(SessionTable)
        shown = set(table.shown_names)
        show = [v for v in self.views.values() if self._matches(v) and v.session.name not in shown]
        hide = [n for n in shown if n not in self.views or not self._matches(self.views[n])]
        table.apply(show, hide, self.stats)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        self.query_one(SessionTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.query_one(SessionTable).focus()
        self.refresh_bindings()

    def action_details(self) -> None:
        item = self.selected()
        if item is not None:
            from kugetsu_tui.console.details import DetailsScreen

            self.push_screen(DetailsScreen(self.home, item.session.name))

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_details()

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Start a dev session", "Start an agent for an issue (capped)", self.action_start)
        yield SystemCommand("Continue the selected session", "Send it a message", self.action_continue_session)
        yield SystemCommand("Destroy the selected session", "Stop, export, archive", self.action_destroy)
        yield SystemCommand("Undo the last destroy", "Restore it from the archive", self.action_undo)
        yield SystemCommand("Filter sessions", "Show only rows containing some text", self.action_filter)
        yield SystemCommand("Raise the limit", "max_concurrent_agents + 1 in config.toml",
                            lambda: self.action_limit(1))
        yield SystemCommand("Lower the limit", "max_concurrent_agents - 1 in config.toml",
                            lambda: self.action_limit(-1))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def run_console(home_override: str | None = None, demo: bool = False) -> int:
    """Open the console on the given home, or on a fresh demo home that is removed on exit."""
    if not demo:
        KugetsuConsole(Home.locate(home_override)).run()
        return 0
    from kugetsu_tui.demo import create_demo_home

    os.environ.pop(LIMIT_ENV, None)  # the demo shows its own limit
    root = Path(tempfile.mkdtemp(prefix="kugetsu-demo-"))
    try:
        home = create_demo_home(root / "home")
        app = KugetsuConsole(home)
        # A closed terminal or a kill must still stop the demo's agents and remove its home.
        previous = {signum: signal.signal(signum, lambda *_: app.exit()) for signum in (signal.SIGHUP, signal.SIGTERM)}
        try:
            app.run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    finally:
        _stop_all_agents(Home(root / "home"))
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _stop_all_agents(home: Home) -> None:
    from kugetsu_tui.archive import stop_agent
    from kugetsu_tui.sessions import list_sessions

    for session in list_sessions(home):
        stop_agent(session)
