"""The main screen: the session table, the filter and the capacity footer, and every key.

Keys act through the core (`actions`, `archive`, `config`) in thread workers, so the console can
never bypass the cap; the workers post messages (`messages.py`) that the screen turns into
notifications. Which keys are available follows reactives declared with `bindings=True`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.text import counted, printable
from kugetsu_tui.console.capacity import CapacityBar
from kugetsu_tui.console.messages import (
    ActionDone,
    ActionRefused,
    ActionWarning,
    CleanupPlanned,
    RestoreFailed,
    SessionsArchived,
    WorkRead,
)
from kugetsu_tui.console.model import Capacity, ConsoleModel, QueueRow, Row
from kugetsu_tui.console.naming import session_label
from kugetsu_tui.console.preview import SessionPreview
from kugetsu_tui.console.rows import LIVE_COLUMNS, lazy_cells, live_texts, sort_key
from kugetsu_tui.console.session_table import FILTER_PLACEHOLDER, SessionTable
from kugetsu_tui.console.virtual_table import VirtualTable
from kugetsu_tui.console.worker_errors import ReportsWorkerErrors
from kugetsu_tui.sessions.continuable import continue_refusal
from kugetsu_tui.sessions.files import KIND_BASE, KIND_DEV, KIND_PM, Session
from kugetsu_tui.sessions.limit import LIMIT_ENV, resolve_limit, save_limit
from kugetsu_tui.sessions.overview import SessionView

if TYPE_CHECKING:
    from kugetsu_tui.opencode.server import Permission, Question
    from kugetsu_tui.opencode.server_activity import ActivityTracker

#: The actions whose availability follows the row under the cursor.
ROW_ACTIONS = ("continue_session", "destroy", "details", "mark", "open_url", "queue_front", "park_or_resume")
P = ParamSpec("P")
T = TypeVar("T")
#: What the core raises when it refuses or fails an action: shown, and the console goes on.
REFUSALS = (KugetsuError, OSError)
#: Rows drawn per frame when many changed at once: ~15 ms of the loop each at 10,000 sessions.
ROWS_PER_FRAME = 2000
#: Between two such pieces: a timer lets the loop read input and changes in between (call_after_refresh and
#: call_later ran the pieces back to back; a Textual timer of 0 s never fires).
ROWS_PAUSE = 0.005


class MainScreen(ReportsWorkerErrors, Screen[None]):
    DEFAULT_CSS = """
    MainScreen #filter { display: none; }
    MainScreen #filter.shown { display: block; }
    MainScreen #bottom { dock: bottom; height: 1; }
    MainScreen #bottom Footer { dock: none; width: 1fr; }
    MainScreen #body { height: 1fr; }
    MainScreen #preview { display: none; width: 45%; border-left: tall $primary-muted; }
    MainScreen #preview.shown { display: block; }
    MainScreen.-narrow #body { layout: vertical; }
    MainScreen.-narrow #preview { width: 1fr; height: 45%; border-left: none; border-top: tall $primary-muted; }
    """
    #: Below this width the preview goes under the table: beside it (45 %), the table could not show kind,
    #: issue, state, work and age, the columns that must stay.
    NARROW = 150
    #: Help and Quit come first, so no width of the footer (80 columns, Undo and Clear filter shown) loses them.
    #: The keys that open a dialog are priority bindings: the dialog is open, its field focused, before the
    #: next key is read (see dialogs.py). Each key that can be refused has a second binding, `explain`, that
    #: says why when the first is dimmed (`refusal`). The tooltip is what help and the palette say of a key.
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Every key, state and activity explained"),
        Binding("q", "app.quit", "Quit", tooltip="Quit the console (the agents keep running)"),
        Binding(
            "s", "start", "Start", priority=True, tooltip="Start a dev session for an issue (at capacity: queue it)"
        ),
        Binding(
            "s", "queue_start", "Queue", priority=True, tooltip="Queue work for an issue: it starts when a slot frees"
        ),
        Binding("s", "explain('start')", show=False),
        Binding("c", "continue_session", "Continue", priority=True, tooltip="Send the selected session a message"),
        Binding("c", "explain('continue_session')", show=False),
        Binding(
            "d",
            "destroy",
            "Destroy",
            tooltip="Destroy the marked sessions or the selected one, or remove a queued item",
        ),
        Binding("d", "explain('destroy')", show=False),
        Binding("u", "undo", "Undo", tooltip="Bring back what the last destroy or clean-up archived"),
        Binding(
            "D", "clean_up", "Clean up", key_display="D", tooltip="Check the work now, then destroy every done session"
        ),
        # Shown in help (?) and the palette; left out of the footer so it fits 80 columns.
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            show=False,
            priority=True,
            tooltip="Show only the rows containing a text",
        ),
        Binding("escape", "clear_filter", "Clear filter", tooltip="Clear the filter and close its box"),
        Binding("space,enter", "details", "Details", show=False, tooltip="The selected session's details and log"),
        Binding("space", "explain('details')", show=False),
        Binding(
            "p", "toggle_preview", "Preview", show=False, tooltip="Show or hide the selected session's live preview"
        ),
        Binding(
            "m", "mark", "Mark / unmark", show=False, tooltip="Mark a dev session, for d to destroy the marked at once"
        ),
        Binding("m", "explain('mark')", show=False),
        Binding(
            "w", "check_work", "Check work now", show=False, tooltip="Ask the forge and git now which work is done"
        ),
        Binding(
            "o", "open_url", "Open PR or issue", show=False, tooltip="Open the session's PR (or issue) in a browser"
        ),
        Binding("o", "explain('open_url')", show=False),
        Binding(
            "f", "queue_front", "Queue front", show=False, tooltip="Move the selected queued item to the queue's front"
        ),
        Binding("f", "explain('queue_front')", show=False),
        Binding(
            "P",
            "park_or_resume",
            "Park / resume",
            key_display="P",
            show=False,
            tooltip="Park the selected idle dev session (its slot is freed, nothing is lost), or resume a parked one",
        ),
        Binding("P", "explain('park_or_resume')", show=False),
        Binding(
            "a", "answer('once')", "Allow once", show=False, tooltip="Allow the selected session's pending ask once"
        ),
        Binding(
            "A",
            "answer('always')",
            "Allow always",
            key_display="A",
            show=False,
            tooltip="Allow the selected session's pending ask always",
        ),
        Binding("x", "answer('reject')", "Reject", show=False, tooltip="Reject the selected session's pending ask"),
        Binding(
            "plus",
            "limit(1)",
            "Raise limit",
            key_display="+",
            show=False,
            tooltip="Raise the limit: max_concurrent_agents + 1 in config.toml",
        ),
        Binding(
            "minus",
            "limit(-1)",
            "Lower limit",
            key_display="-",
            show=False,
            tooltip="Lower the limit: max_concurrent_agents - 1 in config.toml",
        ),
        Binding(
            "C",
            "capacity",
            "Capacity",
            key_display="C",
            show=False,
            tooltip="Who holds each slot, for how long, what freeing it costs; how the cap was used today",
        ),
        # Step in and review (console/take_over.py): opencode's TUI, the worktree, its diff.
        Binding("t", "take_over", "Take over", show=False, tooltip="Take the session over in opencode's own TUI"),
        Binding("e", "edit_worktree", "Edit", show=False, tooltip="$VISUAL or $EDITOR in the session's worktree"),
        Binding(
            "exclamation_mark",
            "shell_in_worktree",
            "Shell",
            key_display="!",
            show=False,
            tooltip="$SHELL in the session's worktree",
        ),
        Binding("v", "view_diff", "Diff", show=False, tooltip="The worktree's diff against its base"),
    ]
    #: Unavailable, these are hidden from the footer (they matter only now and then); the others are dimmed.
    HIDDEN_WHEN_REFUSED = frozenset({"queue_start", "undo", "clear_filter"})
    #: Priority bindings on printable keys: while the filter box has the focus, its keys are the filter's.
    TYPE_AHEAD = frozenset({"start", "queue_start", "continue_session", "filter"})

    #: The footer figure, bound to the capacity bar; drawn in a frame of its own, before the table.
    capacity: var[Capacity | None] = var(None)
    # What s does follows these; a change redraws the footer's keys (check_action asks `refusal`).
    start_allowed = var(False, bindings=True)
    queue_allowed = var(False, bindings=True)
    can_undo = var(False, bindings=True)
    filter_open = var(False, bindings=True)

    def __init__(self, home: Home, model: ConsoleModel, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._recovery_said: set[str] = set()  # what recovery reported, so each is said once
        self.home = home
        self.model = model
        self.clock = clock
        self._destroys_running = 0
        self._row_keys: tuple[bool, ...] = ()  # what the selected row allowed when the footer was last drawn
        self._select_when_shown: str | None = None
        self._more_rows_due = False  # rows wait to be drawn once the loop has run (see _flush_rows)
        self.server: tuple[str, ActivityTracker] | None = None  # the opencode server followed, when set

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder=FILTER_PLACEHOLDER,
            id="filter",
            compact=True,
        )
        with Horizontal(id="body"):
            yield SessionTable(tokens=_has_server(self.home), id="sessions")
            yield SessionPreview(self.home, self.model, id="preview")
        with Horizontal(id="bottom"):
            yield CapacityBar(id="capacity").data_bind(MainScreen.capacity)
            yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.table.focus()
        self.show_capacity()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")

    @cached_property
    def table(self) -> SessionTable:
        """The one session table (looked up once: a DOM query every second was a tenth of the idle cost)."""
        return self.query_one(SessionTable)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#filter", Input)

    # --- drawing what the model says ----------------------------------------------------------

    def show_capacity(self) -> None:
        self.capacity = self.model.capacity
        self.start_allowed = self.model.start_refusal() is None
        self.queue_allowed = self.model.full

    def sessions_changed(self) -> None:
        """The figure and the changed rows, in the same frame: the virtual table's cost is what changed."""
        self.show_capacity()
        if self.model.has_pending_rows:
            self._flush_rows()
            self._refresh_row_keys()  # the selected row may have changed (running -> idle, say)

    def _refresh_row_keys(self) -> None:
        """Redraw the footer's keys when what the selected row allows has changed, not at every change
        (a redraw recomposes the footer)."""
        allowed = tuple(self.refusal(action) is None for action in ROW_ACTIONS)
        if allowed != self._row_keys:
            self._row_keys = allowed
            self.refresh_bindings()

    def _flush_rows(self) -> None:
        """At most ROWS_PER_FRAME rows (the first ones on screen) each frame: see take_row_changes."""
        shown, hidden = self.model.take_row_changes(ROWS_PER_FRAME, sort_key)
        self._draw(shown, hidden)
        self._select_pending_row()
        if self.model.has_pending_rows and not self._more_rows_due:
            self._more_rows_due = True
            self.set_timer(ROWS_PAUSE, self._more_rows)

    def _more_rows(self) -> None:
        self._more_rows_due = False
        self.sessions_changed()

    def _draw(self, shown: list[tuple[str, Row]], hidden: list[str]) -> None:
        self.table.apply([(key, lazy_cells(row, self.model, self.clock), sort_key(row)) for key, row in shown], hidden)

    def refresh_live_cells(self, keys: set[str] | None = None) -> None:
        """Ages and process figures of the rows on screen (those of `keys`, when given): only rows
        whose texts changed are rebuilt."""
        now = self.clock()
        rows = []
        for key in self.table.visible_keys():
            if keys is not None and key not in keys:
                continue
            row, drawn = self.model.row(key), self.table.cells(key)
            if row is not None and drawn is not None:
                live = live_texts(row, self.model, now)
                if any(
                    drawn[column].plain != text for column, text in zip(LIVE_COLUMNS, live, strict=False)
                ):  # a queued row: age only
                    rows.append((key, row))
        if rows:
            self._draw(rows, [])

    # --- which keys are available ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "explain":
            return True
        if action in self.TYPE_AHEAD and self.focused is self.filter_box:
            return False
        if self.refusal(action) is None:
            return True
        return False if action in self.HIDDEN_WHEN_REFUSED else None

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """Textual's, with the reason a dimmed key of ours is refused as its tooltip (the footer's hover)."""
        active = super().active_bindings
        for key, bound in active.items():
            if not bound.enabled and bound.node is self:
                reason = self.refusal(bound.binding.action.partition("(")[0])
                if reason:
                    active[key] = bound._replace(tooltip=reason)
        return active

    def refusal(self, action: str) -> str | None:
        """Why the key of `action` cannot act now, on the row under the cursor (None: it can).

        The one answer for the footer (dimmed or hidden), the key's `explain` binding and the palette.
        Cheap: the footer asks it for every key whenever the bindings are refreshed.
        """
        if action == "start":
            return self.model.start_refusal()
        if action == "queue_start":
            return None if self.model.full else self.model.start_refusal() or "a slot is free: s starts the work now"
        if action == "undo":
            if self.can_undo:
                return None
            if self._destroys_running:
                return "a destroy is still saving its work: u undoes it once it is archived"
            return "nothing to undo"
        if action == "clear_filter":
            return None if self.filter_open else "no filter is set"
        queued, item = self.selected_queued(), self.selected()
        if action == "destroy":
            return None if self.model.marked or queued or item else "no row is selected"
        if action == "queue_front":
            return None if queued else "f moves a queued item to the queue's front: this row is not queued"
        if action == "park_or_resume":
            return self._park_refusal(queued, item)
        if action not in ("continue_session", "mark", "open_url", "details"):
            return None
        if queued is not None:
            if action == "details":
                return None  # the queued item's ref and message
            what = {"continue_session": "no session to continue", "mark": "nothing to mark", "open_url": "no PR"}
            return f"{printable(queued.item.issue_ref or queued.item.id)} is queued: {what[action]} yet"
        if item is None:
            return "no session is selected"
        if action == "continue_session":
            if item.session.name in self.model.destroying:
                return f"{printable(item.session.name)} is being destroyed"
            if self.selected_parked() and not self.model.full:  # full: c offers to queue the resume
                return continue_refusal(item.session, item.alive) or self.model.resume_refusal(item.session.name)
            return continue_refusal(item.session, item.alive)
        if action == "mark" and self.selected_parked():
            return "a parked session holds no slot: nothing to mark (d destroys it, P resumes it)"
        if action == "mark" and item.session.kind != KIND_DEV:
            return "only dev sessions can be marked (base and PM are destroyed one at a time)"
        return None

    def action_explain(self, action: str) -> None:
        """The second binding of a refused key: say why, at once."""
        reason = self.refusal(action)
        if reason is None:
            return
        if action == "start":
            self._explain_refusal(reason)
        else:
            self.notify(reason, title="Not now", severity="warning", markup=False)

    def _park_refusal(self, queued: QueueRow | None, item: SessionView | None) -> str | None:
        if queued is not None:
            return f"{printable(queued.item.issue_ref or queued.item.id)} is queued: nothing to park yet"
        if item is None:
            return "no session is selected"
        if self.selected_parked():
            return self.model.resume_refusal(item.session.name)
        return self.model.park_refusal(item)

    def selected(self) -> SessionView | None:
        """The session under the cursor, parked or not (None on a queued item's row)."""
        name = self.table.selected_name
        return self.model.session_view(name) if name else None

    def selected_parked(self) -> bool:
        key = self.table.selected_name
        return key is not None and key in self.model.parked

    def selected_queued(self) -> QueueRow | None:
        key = self.table.selected_name
        return self.model.queue.get(key) if key else None

    # --- the workers' calls into the core -------------------------------------------------------

    def _core_call(self, action: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """A core call from a worker: its result, or None once its refusal (or OS error) is posted.

        Any other error goes on up to the worker (`exit_on_error=False`), which `ReportsWorkerErrors` reports.
        """
        try:
            return call(*args, **kwargs)
        except REFUSALS as exc:
            self.post_message(_refused(action, exc))
            return None

    # --- start ----------------------------------------------------------------------------------

    def action_start(self) -> None:
        reason = self.model.start_refusal()
        if reason:
            self._explain_refusal(reason)
            return
        from kugetsu_tui.console.dialogs import StartDialog  # screens load when first used: faster start-up

        capacity = f"{self.model.active}/{self.model.limit.value} active"
        self.app.push_screen(StartDialog(capacity), self._start_confirmed)

    def action_queue_start(self) -> None:
        """At capacity: offer to queue the work instead; the dialog says why (no toast over it)."""
        reason = self.model.start_refusal()
        if not reason or not self.model.full:
            self.action_start()
            return
        from kugetsu_tui.console.dialogs import StartDialog

        capacity = f"{self.model.active}/{self.model.limit.value} full, {self.model.queued} queued"
        self.app.push_screen(StartDialog(capacity, queue_because=reason), self._queue_confirmed)

    def _queue_confirmed(self, answer: tuple[str, str] | None) -> None:
        if answer:
            self.run_queue(*answer)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_queue(self, ref: str, message: str) -> None:
        """Start now if a slot freed meanwhile, else queue: the core decides under its lock."""
        from kugetsu_tui.queue.manage import Queued, start_or_queue

        done = self._core_call("queue", start_or_queue, self.home, ref, message)
        if done is None:
            return
        if isinstance(done, Queued):
            self.post_message(
                ActionDone(
                    "queue",
                    f"queued {done.item.issue_ref} as #{done.position} ({done.item.id}): it starts when a slot frees",
                )
            )
        else:
            started = session_label(done.name, done.issue_ref)
            self.post_message(ActionDone("start", f"a slot was free: started {started}", select=done.name))

    def _explain_refusal(self, reason: str) -> None:
        title = "Limit invalid" if self.model.limit.value is None else "At capacity"
        self.notify(reason, title=title, severity="warning", markup=False)

    def _start_confirmed(self, answer: tuple[str, str] | None) -> None:
        if answer:
            self.run_start(*answer)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_start(self, ref: str, message: str) -> None:
        from kugetsu_tui.lifecycle.start import start_session

        done = self._core_call("start", start_session, self.home, ref, message)
        if done is None:
            return
        if done.warning:
            self.post_message(ActionWarning("start", done.warning))
        self.post_message(
            ActionDone(
                "start",
                f"started {session_label(done.name, done.issue_ref)} (opencode session {done.opencode_session_id or 'pending'})",
                select=done.name,
            )
        )

    # --- continue -------------------------------------------------------------------------------

    def action_continue_session(self) -> None:
        from kugetsu_tui.console.dialogs import MessageDialog

        item = self.selected()
        if item is None or self.refusal("continue_session") is not None:  # said before a dialog opens, not after
            self.action_explain("continue_session")
            return
        name = item.session.name
        label = printable(item.session.issue_ref or name)
        if self.selected_parked() and self.model.full:  # at capacity: the resume can wait in the queue
            reason = self.model.resume_refusal(name)

            def queue(message: str | None) -> None:
                if message is not None:
                    self.run_resume_or_queue(name, message)

            title = f"Continue {label} (parked)\n{reason}\nEnter queues its resume with this message instead."
            self.app.push_screen(MessageDialog(title), queue)
            return

        def send(message: str | None) -> None:
            if message is not None:
                self.run_continue(name, message)

        self.app.push_screen(MessageDialog(f"Continue {label}"), send)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_continue(self, name: str, message: str) -> None:
        from kugetsu_tui.lifecycle.start import continue_session

        done = self._core_call("continue", continue_session, self.home, name, message or None)
        if done is not None:
            self.post_message(ActionDone("continue", f"continued {session_label(done.name, done.issue_ref)}"))

    # --- park and resume ------------------------------------------------------------------------------

    def action_park_or_resume(self) -> None:
        """Park the selected dev session, or resume the selected parked one; refused with the reason."""
        item = self.selected()
        if item is None or self.refusal("park_or_resume") is not None:
            self.action_explain("park_or_resume")
            return
        if self.selected_parked():
            self.run_resume(item.session.name)
        else:
            self.run_park(item.session.name)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_park(self, name: str) -> None:
        from kugetsu_tui.queue.parking import park

        known = self.model.activity.get(name)
        done = self._core_call("park", park, self.home, name, known, asked=known is not None)
        if done is not None:
            label = session_label(done.session.name, done.session.issue_ref)
            text = "; ".join([f"parked {label}: its slot is free; P resumes it", *done.warnings])
            self.post_message(ActionDone("park", text))

    @work(thread=True, group="actions", exit_on_error=False)
    def run_resume(self, name: str) -> None:
        from kugetsu_tui.lifecycle.park import resume_session

        done = self._core_call("resume", resume_session, self.home, name)
        if done is not None:
            label = session_label(done.session.name, done.session.issue_ref)
            self.post_message(ActionDone("resume", f"resumed {label}: it holds a slot again", select=name))

    @work(thread=True, group="actions", exit_on_error=False)
    def run_resume_or_queue(self, name: str, message: str) -> None:
        """A parked session at capacity: resumed if a slot freed meanwhile, else its resume queued."""
        from kugetsu_tui.queue.manage import Queued
        from kugetsu_tui.queue.parking import resume_or_queue

        done = self._core_call("continue", resume_or_queue, self.home, name, message or None)
        if isinstance(done, Queued):
            text = f"queued the resume of {done.item.issue_ref} as #{done.position} ({done.item.id}): it resumes when a slot frees"
            self.post_message(ActionDone("queue", text))
        elif done is not None:
            label = session_label(done.session.name, done.session.issue_ref)
            self.post_message(ActionDone("continue", f"a slot was free: resumed and continued {label}", select=name))

    # --- destroy, marks, clean-up and undo ---------------------------------------------------------

    def action_destroy(self) -> None:
        """Destroy the marked sessions (one confirmation), or the selected one, or remove a queued item."""
        if self.model.marked:
            self._confirm_batch(
                "Destroy the marked sessions?",
                [(v.session, v.shown_state) for v in self.model.marked_views()],
                "destroy",
            )
            return
        queued = self.selected_queued()
        if queued is not None:
            self._confirm_remove_queued(queued)
            return
        item = self.selected()
        if item is None or self._being_destroyed(item.session.name):
            return
        from kugetsu_tui.console.dialogs import ConfirmDialog
        from kugetsu_tui.lifecycle.archive import (
            destroy_steps,
            special_kind,
        )  # archive, actions, worktrees: not before the first frame
        from kugetsu_tui.worktrees.diff import cached_diff_size

        s = item.session
        diff = None if s.corrupt else cached_diff_size(s.data)
        steps = destroy_steps(s, item.alive, self.model.active, self.model.limit.value, diff)
        body = "\n".join(f"• {step}" for step in steps)
        special = special_kind(s)

        def first(yes: bool | None) -> None:
            if not yes:
                return
            if special is None:
                self.start_destroy([(s.name, s.kind)])
                return

            def second(again: bool | None) -> None:
                if again:
                    self.start_destroy([(s.name, s.kind)])

            self.app.push_screen(
                ConfirmDialog(
                    f"Really destroy {special}?",
                    "This is not a dev session. Press y to confirm.",
                    danger=True,
                    enter_confirms=False,
                ),
                second,
            )

        self.app.push_screen(
            ConfirmDialog(f"Destroy {printable(s.issue_ref or s.name)}?", body, danger=special is not None), first
        )

    def _confirm_batch(self, title: str, sessions: list[tuple[Session, str]], action: str, footnote: str = "") -> None:
        """One confirmation for many dev sessions, each with why; then destroy them all (u undoes the batch)."""
        from kugetsu_tui.console.dialogs import ConfirmDialog

        lines = [f"• {session_label(s.name, s.issue_ref)}: {printable(why)}" for s, why in sessions]
        body = "\n".join(
            [
                *lines,
                "",
                "Each is destroyed as d does (transcript, worktree and log archived); u brings the whole batch back.",
                *([footnote] if footnote else []),
            ]
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.start_destroy([(s.name, s.kind) for s, _ in sessions], action)

        self.app.push_screen(ConfirmDialog(title, body), answer)

    def _being_destroyed(self, name: str) -> bool:
        if name in self.model.destroying:
            view = self.model.views.get(name)
            self.notify(
                f"{session_label(name, view and view.session.issue_ref)} is being destroyed already", markup=False
            )
            return True
        return False

    def start_destroy(self, targets: list[tuple[str, str]], action: str = "destroy") -> None:
        """The one way in for d, the marked batch and D: a session already being destroyed is left out,
        and the rest are marked `destroying…` (on the UI thread, so a quick `d y d y` destroys once)."""
        targets = [(name, kind) for name, kind in targets if not self._being_destroyed(name)]
        if not targets:
            return
        self.model.set_destroying([name for name, _ in targets], True)
        self.sessions_changed()
        self.run_destroy(targets, action)

    def _destroy_finished(self, names: list[str]) -> None:
        self.model.set_destroying(names, False)
        self.sessions_changed()

    @work(thread=True, group="actions", exit_on_error=False)
    def run_destroy(self, targets: list[tuple[str, str]], action: str = "destroy") -> None:
        """Destroy each session in turn; stop at the first failure (what was destroyed stays undoable)."""
        from kugetsu_tui.lifecycle.archive import destroy_session

        entries: list[str] = []
        warnings: list[str] = []
        names: list[str] = []
        labels: list[str] = []
        self._destroys_running += 1
        try:
            for name, kind in targets:
                result = self._core_call(
                    action, destroy_session, self.home, name, allow_base=kind == KIND_BASE, allow_pm=kind == KIND_PM
                )
                if result is None:
                    break
                entries.append(result.entry.id)
                warnings.extend(result.warnings)
                names.append(result.entry.session_name)
                labels.append(session_label(result.entry.session_name, result.entry.meta.get("issue_ref")))
        finally:
            if entries:
                self.post_message(SessionsArchived(entries, names, warnings))
            self._destroys_running -= 1
            self.app.call_from_thread(self._destroy_finished, [name for name, _ in targets])
        if names:
            what = labels[0] if len(labels) == 1 else f"{len(labels)} sessions ({', '.join(labels)})"
            self.post_message(ActionDone(action, f"destroyed {what}: archived (u to undo)"))

    def on_sessions_archived(self, message: SessionsArchived) -> None:
        self.model.archived(message.entry_ids, message.session_names)
        self.can_undo = self.model.can_undo
        for warning in message.warnings:
            self.notify(warning, severity="warning", markup=False)

    def on_restore_failed(self, message: RestoreFailed) -> None:
        self.model.restore_failed(message.entry_ids)
        self.can_undo = self.model.can_undo

    def action_undo(self) -> None:
        batch = self.model.undo_batch()
        if batch is None:
            if self._destroys_running:
                self.notify("a destroy is still saving its work: u undoes it once it is archived", markup=False)
            else:
                self.notify("nothing to undo", markup=False)
            return
        self.run_undo(batch)
        self.can_undo = self.model.can_undo

    @work(thread=True, group="actions", exit_on_error=False)
    def run_undo(self, entry_ids: list[str]) -> None:
        """Restore a destroyed batch; entries that cannot come back (the cap, say) stay undoable."""
        from kugetsu_tui.lifecycle.archive import restore_session

        restored: list[str] = []
        for index, entry_id in enumerate(entry_ids):
            try:
                session = restore_session(self.home, entry_id)
                restored.append(session_label(session.name, session.issue_ref))
            except REFUSALS as exc:  # what can still be undone goes back on the stack before the refusal is shown
                left = [e for e in entry_ids[index:] if (self.home.archive_dir / e).is_dir()]  # undoable still
                if left:
                    self.post_message(RestoreFailed(left))
                self.post_message(_refused("restore", exc))
                break
        if restored:
            self.post_message(ActionDone("restore", f"restored {', '.join(restored)}"))

    def action_mark(self) -> None:
        item = self.selected()
        if item is None or self.refusal("mark") is not None:
            self.action_explain("mark")
            return
        self.model.toggle_mark(item.session.name)
        self.sessions_changed()
        self.refresh_bindings()

    def action_clean_up(self) -> None:
        """Check the work of every dev session now, then offer to destroy every done one."""
        self.notify("checking which sessions are done…", markup=False)
        self.run_plan_cleanup()

    @work(thread=True, group="work-check", exit_on_error=False)
    def run_plan_cleanup(self) -> None:
        from kugetsu_tui.lifecycle.prune import plan_prune
        from kugetsu_tui.work.status import read_work

        plan = self._core_call("clean up", plan_prune, self.home)
        if plan is None:
            return
        from kugetsu_tui.worktrees.diff import diff_size

        sizes = {f.session.name: diff_size(f.session.data, max_age=0) for f in plan.done if not f.session.corrupt}
        self.post_message(WorkRead(read_work(self.home), checked=True))
        self.post_message(CleanupPlanned(plan, {name: size for name, size in sizes.items() if size}))

    def on_cleanup_planned(self, message: CleanupPlanned) -> None:
        plan = message.plan
        busy = "".join(f"\nskipped, {printable(s.reason)}: {printable(s.finished.session.name)}" for s in plan.skipped)
        if not plan.done:
            self.notify(f"no session is done: nothing to clean up{busy}", markup=False)
            return
        self._confirm_batch(
            f"Clean up {counted(len(plan.done), 'done session')}?",
            [
                (f.session, f"{f.work.detail} [{f.work.source}]" + _diff_note(message.diff_sizes.get(f.session.name)))
                for f in plan.done
            ],
            "clean up",
            footnote=busy.strip(),
        )

    def _confirm_remove_queued(self, queued: QueueRow) -> None:
        from kugetsu_tui.console.dialogs import ConfirmDialog

        item = queued.item

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_queue_change("remove", item.id)

        self.app.push_screen(
            ConfirmDialog(
                f"Remove queued {printable(item.issue_ref or item.id)}?",
                f"• the item {printable(item.id)} is deleted from the queue; its work never starts",
            ),
            answer,
        )

    def action_queue_front(self) -> None:
        queued = self.selected_queued()
        if queued is None:
            self.action_explain("queue_front")
            return
        self.run_queue_change("front", queued.item.id)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_queue_change(self, change: str, item_id: str) -> None:
        from kugetsu_tui.queue.manage import move_to_front, remove_item

        item = self._core_call(change, remove_item if change == "remove" else move_to_front, self.home, item_id)
        if item is None:
            return
        done = "removed from the queue" if change == "remove" else "moved to the queue's front"
        self.post_message(ActionDone(change, f"{item.issue_ref or item.id} {done}"))

    # --- permission asks (through the opencode server) ---------------------------------------------

    def action_answer(self, reply: str) -> None:
        """Answer the selected session's pending permission ask: allow once, allow always, or reject."""
        item = self.selected()
        if self.server is None:
            self.notify("answering asks needs [agent] server in config.toml (a running opencode serve)", markup=False)
            return
        if item is None or not item.session.opencode_session_id:
            self.notify("no pending ask here: a, A and x answer the selected session's ask", markup=False)
            return
        url, tracker = self.server
        asks = [a for a in tracker.pending() if a.session_id == item.session.opencode_session_id]
        if not asks:
            self.notify(f"{session_label(item.session.name, item.session.issue_ref)} has no pending ask", markup=False)
            return
        self.run_answer(url, asks[0], reply)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_answer(self, url: str, ask: Permission | Question, reply: str) -> None:
        from kugetsu_tui.opencode.server import OpencodeServer, Permission, PermissionReply, ServerUnavailable

        server = OpencodeServer(url)
        try:
            if isinstance(ask, Permission):
                server.reply_permission(ask.id, PermissionReply(reply), ask.directory)
                what = f"{reply}: {ask.describe()}"
            elif reply == "reject":
                server.reject_question(ask.id, ask.directory)
                what = f"question rejected: {ask.text}"
            else:
                self.post_message(
                    ActionRefused("answer", "a question needs words: answer it in opencode", at_capacity=False)
                )
                return
        except ServerUnavailable as exc:
            self.post_message(ActionRefused("answer", str(exc), at_capacity=False))
            return
        self.post_message(ActionDone("answer", printable(what)))

    # --- work status ----------------------------------------------------------------------------

    def action_check_work(self) -> None:
        self.notify("checking the work of every dev session…", markup=False)
        self.run_check_work(announce=True)

    @work(thread=True, group="recover", exclusive=True, exit_on_error=False)
    def run_recover(self) -> None:
        """Finish or roll back what a killed destroy, restore or start left (the console's own, or a
        CLI's): no state outlives its process, and no slot stays held by a dead operation."""
        from kugetsu_tui.lifecycle.recover import recover_all

        for line in self._core_call("recover", recover_all, self.home, only_done=True) or []:
            if line in self._recovery_said:  # one that cannot be recovered is tried every 5 s: said once
                continue
            self._recovery_said.add(line)
            if ": could not recover: " in line:
                self.post_message(ActionWarning("recover", line))
            else:
                self.post_message(ActionDone("recover", f"recovered {line}"))

    @work(thread=True, group="work-check", exclusive=True, exit_on_error=False)
    def run_check_work(self, announce: bool = False, check: bool = True, sessions: list[Session] | None = None) -> None:
        """Ask the forge and git now (blocking: network and git), then show the fresh cache.

        With `check=False`, only the cache as last checked (by us or by `kugetsu-tui work`) is shown.
        `sessions`: the dev sessions (and others, left out) as just read; None reads them.
        """
        from kugetsu_tui.work.status import check_work, read_work

        if not check:
            self.post_message(WorkRead(read_work(self.home), checked=False))
            return
        try:
            results = check_work(self.home, None if sessions is None else [s for s in sessions if s.kind == KIND_DEV])
        except REFUSALS as exc:  # said in the work status's own notification, not as a refused action
            self.post_message(WorkRead(read_work(self.home), checked=False, error=_refused("check", exc).text))
            return
        self.post_message(WorkRead(read_work(self.home), checked=True))
        if announce:
            done = sum(1 for _, status in results if status.done)
            self.post_message(ActionDone("check", f"checked {counted(len(results), 'dev session')}: {done} done"))

    def on_work_read(self, message: WorkRead) -> None:
        if message.error:
            self.notify(message.error, title="Work status", severity="warning", markup=False)
        self.model.set_work(message.cache)
        self.sessions_changed()

    def action_open_url(self) -> None:
        """Open the selected session's PR (or issue) in a browser; the URL is shown too, for SSH."""
        from kugetsu_tui.work.status import browse_url

        item = self.selected()
        if item is None:
            self.action_explain("open_url")
            return
        url = browse_url(item.session, self.model.work(item))
        if url is None:
            self.notify("no PR or issue known for this session", markup=False)
            return
        import webbrowser

        opened = False
        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            opened = False
        self.notify(url, title="Opened" if opened else "No browser here: the URL", markup=False, timeout=15)

    # --- outcomes of the workers ----------------------------------------------------------------

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, markup=False)
        if message.select is not None:
            self._select_when_shown = message.select
            self._select_pending_row()

    def _select_pending_row(self) -> None:
        """Put the cursor on a session just started, as soon as its row is in the table."""
        key = self._select_when_shown
        if key is not None and key in self.table.shown_names:
            self._select_when_shown = None
            self.table.move_cursor(self.table.row_index(key))

    def on_action_warning(self, message: ActionWarning) -> None:
        self.notify(message.text, severity="warning", timeout=10, markup=False)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.notify(
            message.text,
            title="Refused" if message.at_capacity else "Failed",
            severity="warning" if message.at_capacity else "error",
            timeout=10,
            markup=False,
        )

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
            self.notify(
                f"saved {value} to config.toml, but {LIMIT_ENV} in the environment overrides it",
                severity="warning",
                markup=False,
            )
        self.model.limit = resolve_limit(self.home)
        self.show_capacity()
        active, now = self.model.active, self.model.limit.value
        if now is not None and active > now:
            self.notify(
                f"limit {now}: {active} dev sessions already exist; no new start until "
                f"{active - now + 1} of them are destroyed",
                severity="warning",
                markup=False,
            )

    # --- the filter -----------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.filter_box.add_class("shown")
        self.set_focus(self.filter_box)  # now, not after the keys already read (`focus()` waits): `/run` at once
        self.filter_open = True

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        show, hide = self.model.refilter(event.value, self.table.shown_names)
        self._draw(show, hide)
        self.table.filter_text = self.model.filter_text

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        self.filter_box.remove_class("shown")  # the table's border names the kept filter
        self.table.focus()

    def action_clear_filter(self) -> None:
        self.filter_box.value = ""
        self.filter_box.remove_class("shown")
        self.table.focus()
        self.filter_open = False

    # --- details and help -----------------------------------------------------------------------

    def action_capacity(self) -> None:
        from kugetsu_tui.console.capacity_view import CapacityScreen

        if not isinstance(self.app.screen, CapacityScreen):
            self.app.push_screen(CapacityScreen(self.home, self.model, self.clock))

    def on_capacity_bar_opened(self, _message: CapacityBar.Opened) -> None:
        self.action_capacity()

    def action_details(self) -> None:
        queued, item = self.selected_queued(), self.selected()
        if queued is not None:
            self.show_queued(queued)
        elif item is None:
            self.action_explain("details")
        else:
            from kugetsu_tui.console.details import DetailsScreen

            name = item.session.name
            self.app.push_screen(DetailsScreen(self.home, name, lambda: self.model.usage.get(name)))

    def show_queued(self, queued: QueueRow) -> None:
        """A queued item has no session, details or output yet: its ref, place and message say what it is."""
        item = queued.item
        place = f"queued #{queued.position}" if queued.position is not None else printable(item.state)
        text = f"{printable(item.issue_ref or item.id)}: {place}\nmessage: {printable(item.message)}"
        if item.failure:
            text += f"\n{printable(item.failure)}"
        self.notify(f"{text}\n(f: to the front, d: remove)", title="Queued item", markup=False)

    @on(VirtualTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_details()

    @on(VirtualTable.RowHighlighted)
    def _row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        view = self.model.session_view(str(event.key))  # a parked session's too
        self.query_one(SessionPreview).session_name = view.session.name if view is not None else None
        self._refresh_row_keys()  # the keys that need a selected session
        if view is not None and not view.session.corrupt and view.session.data.get("worktree_path"):
            self.read_diff_size(view.session.data)

    @work(thread=True, group="diff-size", exclusive=True, exit_on_error=False)
    def read_diff_size(self, data: dict[str, Any]) -> None:
        """The selected worktree's size, read off the UI thread, for `d`'s confirmation (it reads the cache)."""
        from kugetsu_tui.worktrees.diff import diff_size

        diff_size(data)

    def action_toggle_preview(self) -> None:
        """The selected session's state, work and live output beside the table (read only while shown)."""
        preview = self.query_one(SessionPreview)
        queued = self.selected_queued()
        if queued is not None and not preview.has_class("shown"):  # an empty pane would say nothing
            self.show_queued(queued)
            return
        if preview.toggle():
            name = self.table.selected_name
            preview.session_name = name if name in self.model.views else None

    def action_help(self) -> None:
        from kugetsu_tui.console.details import DetailsScreen
        from kugetsu_tui.console.help_screen import HelpScreen

        self.app.push_screen(HelpScreen(self, self.model.limit, details=DetailsScreen))

    async def run_from_palette(self, action: str) -> None:
        """A palette command: what its key does, or why not, at once (a palette command is not gated by
        check_action, so it is asked `refusal` first, as the footer is)."""
        reason = None if action.startswith("app.") else self.refusal(action.partition("(")[0])
        if reason is not None:
            self.action_explain(action.partition("(")[0])
        else:
            await self.run_action(action)

    # --- step in and review: the logic is in console/take_over.py --------------------------------

    def action_take_over(self) -> None:
        from kugetsu_tui.console.take_over import take_over

        take_over(self)

    def action_edit_worktree(self) -> None:
        from kugetsu_tui.console.take_over import open_editor

        open_editor(self)

    def action_shell_in_worktree(self) -> None:
        from kugetsu_tui.console.take_over import open_shell

        open_shell(self)

    def action_view_diff(self) -> None:
        from kugetsu_tui.console.take_over import view_diff

        view_diff(self)


def _diff_note(size: str | None) -> str:
    """What a done session's worktree still holds, in the clean-up confirmation (it is archived, not lost)."""
    return f"; diff: {size} (archived)" if size else ""


def _refused(action: str, exc: KugetsuError | OSError) -> ActionRefused:
    """The core's refusal as the screen shows it: the cap's (retry later) is told by its type."""
    if isinstance(exc, KugetsuError):
        return ActionRefused(action, str(exc), at_capacity=isinstance(exc, AtCapacityError))
    return ActionRefused(action, f"{exc.strerror or exc}: {exc.filename or ''}", at_capacity=False)


def _has_server(home: Home) -> bool:
    """Whether `[agent] server` is set: only a server counts tokens (a broken config.toml: no)."""
    from kugetsu_tui.opencode.settings import load_agent_config

    try:
        return load_agent_config(home).server is not None
    except KugetsuError:
        return False
