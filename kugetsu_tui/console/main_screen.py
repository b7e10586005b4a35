"""The main screen: the session table, the filter and the capacity footer, and every key.

Keys act through the core (`actions`, `archive`, `config`) in thread workers, so the console can
never bypass the cap; the workers post messages (`messages.py`) that the screen turns into
notifications. Which keys are available follows reactives declared with `bindings=True`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input

from kugetsu_tui.archive import destroy_steps, special_kind
from kugetsu_tui.config import LIMIT_ENV, resolve_limit, save_limit
from kugetsu_tui.console.capacity import CapacityBar
from kugetsu_tui.console.messages import ActionDone, ActionRefused, RestoreFailed, SessionArchived
from kugetsu_tui.console.model import Capacity, ConsoleModel
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.console.worker_errors import ReportsWorkerErrors
from kugetsu_tui.display import printable
from kugetsu_tui.errors import KugetsuError
from kugetsu_tui.home import Home
from kugetsu_tui.overview import SessionView
from kugetsu_tui.sessions import KIND_BASE, KIND_PM


class MainScreen(ReportsWorkerErrors, Screen[None]):
    DEFAULT_CSS = """
    MainScreen #filter { display: none; }
    MainScreen #filter.shown { display: block; }
    MainScreen #bottom { dock: bottom; height: 1; }
    MainScreen #bottom Footer { dock: none; width: 1fr; }
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
        Binding("q", "app.quit", "Quit"),
    ]

    #: The footer figure, bound to the capacity bar; drawn in a frame of its own, before the table.
    capacity: var[Capacity | None] = var(None)
    start_allowed = var(False, bindings=True)
    can_undo = var(False, bindings=True)
    filter_open = var(False, bindings=True)

    def __init__(self, home: Home, model: ConsoleModel, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.home = home
        self.model = model
        self.clock = clock
        self._flush_scheduled = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: text in name, issue, id or state (Enter keeps, Escape clears)",
                    id="filter", compact=True)
        yield SessionTable(clock=self.clock, id="sessions")
        with Horizontal(id="bottom"):
            yield CapacityBar(id="capacity").data_bind(MainScreen.capacity)
            yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.table.focus()
        self.show_capacity()

    @property
    def table(self) -> SessionTable:
        return self.query_one(SessionTable)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#filter", Input)

    # --- drawing what the model says ----------------------------------------------------------

    def show_capacity(self) -> None:
        self.capacity = self.model.capacity
        self.start_allowed = self.model.start_refusal() is None

    def sessions_changed(self) -> None:
        """The figure now; the table, whose redraw costs tens of milliseconds, right after, with every
        change that arrived meanwhile folded into one update."""
        self.show_capacity()
        if not self._flush_scheduled and self.model.has_pending_rows:
            self._flush_scheduled = True
            self.call_after_refresh(self._flush_rows)

    def _flush_rows(self) -> None:
        self._flush_scheduled = False
        shown, hidden = self.model.take_row_changes()
        self.table.apply(shown, hidden, self.model.stats)

    def refresh_live_cells(self) -> None:
        self.table.refresh_live_cells(self.model.views, self.model.stats)

    # --- which keys are available ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return True if self.start_allowed else None
        if action in ("continue_session", "destroy", "details"):
            return True if self.selected() else None
        if action == "undo":
            return True if self.can_undo else None
        if action == "clear_filter":
            return self.filter_open
        return True

    def selected(self) -> SessionView | None:
        name = self.table.selected_name
        return self.model.views.get(name) if name else None

    # --- start ----------------------------------------------------------------------------------

    def action_start(self) -> None:
        reason = self.model.start_refusal()
        if reason:
            self._explain_refusal(reason)
            return
        from kugetsu_tui.console.dialogs import StartDialog  # screens load when first used: faster start-up

        capacity = f"{self.model.active}/{self.model.limit.value} active"
        self.app.push_screen(StartDialog(capacity), self._start_confirmed)

    def action_explain_start(self) -> None:
        self._explain_refusal(self.model.start_refusal() or "start is available again")

    def _explain_refusal(self, reason: str) -> None:
        title = "Limit invalid" if self.model.limit.value is None else "At capacity"
        self.notify(reason, title=title, severity="warning", markup=False)

    def _start_confirmed(self, answer: tuple[str, str] | None) -> None:
        if answer:
            self.run_start(*answer)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_start(self, ref: str, message: str) -> None:
        from kugetsu_tui.actions import start_session

        try:
            done = start_session(self.home, ref, message)
        except (KugetsuError, OSError) as exc:
            self.post_message(_refused("start", exc))
            return
        self.post_message(ActionDone("start", f"started {done.issue_ref} "
                                              f"(opencode session {done.opencode_session_id or 'pending'})"))

    # --- continue -------------------------------------------------------------------------------

    def action_continue_session(self) -> None:
        from kugetsu_tui.console.dialogs import MessageDialog

        item = self.selected()
        if item is None:
            return
        name = item.session.name

        def send(message: str | None) -> None:
            if message is not None:
                self.run_continue(name, message)

        self.app.push_screen(MessageDialog(f"Continue {printable(item.session.issue_ref or name)}"), send)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_continue(self, name: str, message: str) -> None:
        from kugetsu_tui.actions import continue_session

        try:
            done = continue_session(self.home, name, message or None)
        except (KugetsuError, OSError) as exc:
            self.post_message(_refused("continue", exc))
            return
        self.post_message(ActionDone("continue", f"continued {done.name}"))

    # --- destroy and undo -----------------------------------------------------------------------

    def action_destroy(self) -> None:
        from kugetsu_tui.console.dialogs import ConfirmDialog

        item = self.selected()
        if item is None:
            return
        s = item.session
        steps = destroy_steps(s, item.alive, self.model.active, self.model.limit.value)
        body = "\n".join(f"• {step}" for step in steps)
        special = special_kind(s)

        def first(yes: bool | None) -> None:
            if not yes:
                return
            if special is None:
                self.run_destroy(s.name, s.kind)
                return

            def second(again: bool | None) -> None:
                if again:
                    self.run_destroy(s.name, s.kind)

            self.app.push_screen(ConfirmDialog(f"Really destroy {special}?",
                                               "This is not a dev session. Press y to confirm.", danger=True,
                                               enter_confirms=False), second)

        self.app.push_screen(ConfirmDialog(f"Destroy {printable(s.issue_ref or s.name)}?", body,
                                           danger=special is not None), first)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_destroy(self, name: str, kind: str) -> None:
        from kugetsu_tui.archive import destroy_session

        try:
            result = destroy_session(self.home, name, allow_base=kind == KIND_BASE, allow_pm=kind == KIND_PM)
        except (KugetsuError, OSError) as exc:
            self.post_message(_refused("destroy", exc))
            return
        self.post_message(SessionArchived(result.entry.id, result.warnings))
        self.post_message(ActionDone("destroy", f"destroyed {result.entry.session_name}: archived (u to undo)"))

    def on_session_archived(self, message: SessionArchived) -> None:
        self.model.undo_stack.append(message.entry_id)
        self.can_undo = True
        for warning in message.warnings:
            self.notify(warning, severity="warning", markup=False)

    def on_restore_failed(self, message: RestoreFailed) -> None:
        self.model.undo_stack.append(message.entry_id)
        self.can_undo = True

    def action_undo(self) -> None:
        if not self.model.undo_stack:
            self.notify("nothing to undo", markup=False)
            return
        self.run_undo(self.model.undo_stack.pop())
        self.can_undo = bool(self.model.undo_stack)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_undo(self, entry_id: str) -> None:
        from kugetsu_tui.archive import restore_session

        try:
            session = restore_session(self.home, entry_id)
        except (KugetsuError, OSError) as exc:
            self.post_message(RestoreFailed(entry_id))
            self.post_message(_refused("restore", exc))
            return
        self.post_message(ActionDone("restore", f"restored {session.name}"))

    # --- outcomes of the workers ----------------------------------------------------------------

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, markup=False)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.notify(message.text, title="Refused" if message.at_capacity else "Failed",
                    severity="warning" if message.at_capacity else "error", timeout=10, markup=False)

    # --- the limit ------------------------------------------------------------------------------

    def action_limit(self, delta: int) -> None:
        limit = self.model.limit
        if limit.value is None:
            self.notify(f"Fix the limit first: {limit.error}", severity="error", markup=False)
            return
        value = limit.value + delta
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
        self.model.limit = resolve_limit(self.home)
        self.show_capacity()
        active, now = self.model.active, self.model.limit.value
        if now is not None and active > now:
            self.notify(f"limit {now}: {active} dev sessions already exist; no new start until "
                        f"{active - now + 1} of them are destroyed", severity="warning", markup=False)

    # --- the filter -----------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.filter_box.add_class("shown")
        self.filter_box.focus()
        self.filter_open = True

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        show, hide = self.model.refilter(event.value, self.table.shown_names)
        self.table.apply(show, hide, self.model.stats)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        self.filter_box.value = ""
        self.filter_box.remove_class("shown")
        self.table.focus()
        self.filter_open = False

    # --- details and help -----------------------------------------------------------------------

    def action_details(self) -> None:
        item = self.selected()
        if item is not None:
            from kugetsu_tui.console.details import DetailsScreen

            self.app.push_screen(DetailsScreen(self.home, item.session.name))

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_details()

    def action_help(self) -> None:
        if self.query("HelpPanel"):
            self.app.action_hide_help_panel()
        else:
            self.app.action_show_help_panel()


def _refused(action: str, exc: KugetsuError | OSError) -> ActionRefused:
    if isinstance(exc, KugetsuError):
        return ActionRefused(action, str(exc), at_capacity=exc.exit_code == 2)
    return ActionRefused(action, f"{exc.strerror or exc}: {exc.filename or ''}", at_capacity=False)
