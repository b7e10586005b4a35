"""What the console shows, as plain data: the sessions and queued items, the capacity figure, the
work status of each dev session, marks, the filter, undo.

No Textual here (an import contract checks it), so the model is tested without a screen: the
app feeds it what its workers read, sample and check, and the main screen draws what it says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.refs import parse_issue_ref
from kugetsu_tui.capacity.figures import IDLE, use_of
from kugetsu_tui.capacity.holders import holder_activity
from kugetsu_tui.opencode.usage import Usage
from kugetsu_tui.queue.items import WAITING, ItemState, QueueItem, pending_in_order
from kugetsu_tui.sessions.activities import ATTENTION, Activity, ActivityInfo, wants_attention
from kugetsu_tui.sessions.admission import refusal
from kugetsu_tui.sessions.capacity_settings import DEFAULT_IDLE_AFTER
from kugetsu_tui.sessions.files import KIND_DEV, read_session, session_paths
from kugetsu_tui.sessions.limit import Limit
from kugetsu_tui.sessions.overview import SessionView, view
from kugetsu_tui.sessions.parked import park_refusal
from kugetsu_tui.work.status import NOT_CHECKED, WorkStatus, work_for

#: process stats of one agent tree: (CPU %, resident memory in bytes)
Stats = tuple[float, int]
#: row keys of queued items and parked sessions: "/" can never be part of a session (file) name
QUEUE_KEY_PREFIX = "queue/"
PARKED_KEY_PREFIX = "parked/"
#: what a filter finds in the rows of sessions that need the operator (the title counts them)
NEEDS_YOU = "needs you"


class Capacity(NamedTuple):
    """The footer's figure: dev sessions holding a slot, the limit, how changes are seen, what could
    change soon (sessions whose work is done, items waiting for a slot), and the opencode server's trouble."""

    active: int
    limit: Limit
    watcher_mode: str
    done: int = 0
    queued: int = 0
    server_trouble: str = ""
    idle: int = 0  # dev sessions idle longer than [capacity] idle_after
    cluster: str = ""  # with [cluster] set: "cluster 2/3 on 3 hosts", or "cluster unreachable"


class QueueRow(NamedTuple):
    """A queued item as a row: its place among the pending items (None when not pending)."""

    item: QueueItem
    position: int | None

    @property
    def key(self) -> str:
        return QUEUE_KEY_PREFIX + self.item.id


class ParkedRow(NamedTuple):
    """A parked session as a row of its own kind: it holds no slot, and `P` resumes it."""

    view: SessionView

    @property
    def key(self) -> str:
        return PARKED_KEY_PREFIX + self.view.session.name


Row = SessionView | QueueRow | ParkedRow


class RowChanges(NamedTuple):
    """Table work to do: rows to add or redraw (by key), and row keys to take away (gone or filtered out)."""

    shown: list[tuple[str, Row]]
    hidden: list[str]


def row_key(row: Row) -> str:
    return row.session.name if isinstance(row, SessionView) else row.key


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
    """The rows by key, the active count kept incrementally, and rows not drawn yet."""

    def __init__(self, limit: Limit) -> None:
        self.views: dict[str, SessionView] = {}
        self.queue: dict[str, QueueRow] = {}  # by row key, completed items left out
        self.parked: dict[str, ParkedRow] = {}  # by row key
        self.active = 0
        self.limit = limit
        self.watcher_mode = "starting"
        self.stats: dict[str, Stats] = {}
        self.filter_text = ""
        self.marked: set[str] = set()
        self._undo: list[list[str]] = []  # archive entry ids, one list per destroy (a batch restores at once)
        self._work_cache: Mapping[str, Mapping[str, Any]] = {}
        self._done: set[str] = set()  # dev sessions whose work is done, kept as rows change (the footer reads it)
        self.activity: dict[str, ActivityInfo] = {}  # what each agent is doing, by session name
        self.usage: dict[str, Usage] = {}  # tokens and cost by session name, as the opencode server counts them
        self.server_trouble = ""  # why the opencode server cannot be followed ("" when it can, or is not used)
        self.cluster = ""  # the cluster's figure beside the local one ([cluster] dsn set), or that it is unreachable
        self._with_pid: set[str] = set()  # the sessions the process sampler has to look at
        self._pending: set[str] = set()  # keys of rows not drawn yet
        self._backlog: list[str] = []  # keys of rows not drawn yet, in display order (see take_row_changes)
        self._drawn: set[str] = set()  # keys of the rows taken to be drawn (and not taken away since)
        self.destroying: set[str] = set()  # sessions this console is destroying: no second destroy or continue
        self.idle_after = DEFAULT_IDLE_AFTER  # [capacity] idle_after
        self.idle = 0  # dev sessions idle longer than that, as last counted (`count_idle`)
        #: activity changes of dev sessions not yet written to the slot ledger (the app takes them)
        self.activity_changes: list[tuple[str, Activity]] = []

    # --- the sessions ----------------------------------------------------------------------------

    def merge(self, fresh: Iterable[SessionView], gone: Iterable[str], recount: bool = False) -> None:
        """Fold re-read sessions in; the count follows incrementally (or is recounted on a rescan)."""
        for name in gone:
            old = self.views.pop(name, None)
            if old is not None:
                self._with_pid.discard(name)
                self.marked.discard(name)
                self._done.discard(name)
                self.activity.pop(name, None)
                self.active -= old.session.kind == KIND_DEV
                self._pending.add(name)
        for item in fresh:
            name = item.session.name
            if name not in self.views:
                self.active += item.session.kind == KIND_DEV
            self.views[name] = item
            if self.work(item).done:
                self._done.add(name)
            else:
                self._done.discard(name)
            if item.session.pid:
                self._with_pid.add(name)
            else:
                self._with_pid.discard(name)
            self._pending.add(name)
        if recount:
            self.active = sum(1 for v in self.views.values() if v.session.kind == KIND_DEV)

    def row(self, key: str) -> Row | None:
        if key.startswith(QUEUE_KEY_PREFIX):
            return self.queue.get(key)
        if key.startswith(PARKED_KEY_PREFIX):
            return self.parked.get(key)
        return self.views.get(key)

    def session_view(self, key: str) -> SessionView | None:
        """The session of a row: a session's, or a parked session's (None on a queued item's row)."""
        row = self.row(key)
        return row.view if isinstance(row, ParkedRow) else row if isinstance(row, SessionView) else None

    def take_row_changes(self, limit: int | None = None, order: Callable[[Row], Any] | None = None) -> RowChanges:
        """The rows to draw since the last call, folded: a row changed ten times is drawn once.

        With `limit`, more changes than that at once (the first load of 10,000 sessions, a work check)
        wait in `order` and come `limit` at a time, so that the loop is free between pieces and the screen
        fills from the top; fewer changes are all taken at once, ahead of those waiting.
        """
        if limit is not None and len(self._pending) > limit:
            self._wait_in_order(order)
        count = len(self._backlog) if limit is None else limit
        pending = self._pending | set(self._backlog[:count])
        self._pending, self._backlog = set(), self._backlog[count:]
        shown: list[tuple[str, Row]] = []
        hidden: list[str] = []
        for key in pending:
            row = self.row(key)
            if row is not None and self.matches(row):
                shown.append((key, row))
            else:
                hidden.append(key)
        self._drawn.update(key for key, _ in shown)
        self._drawn.difference_update(hidden)
        return RowChanges(shown, hidden)

    def set_destroying(self, names: Iterable[str], on: bool) -> None:
        """Mark rows as being destroyed (shown `destroying…`), or clear the mark; they are redrawn."""
        for name in names:
            if on:
                self.destroying.add(name)
            else:
                self.destroying.discard(name)
            self._pending.add(name)

    def _wait_in_order(self, order: Callable[[Row], Any] | None) -> None:
        """Put the pending rows in the backlog: new rows first, in display order, then rows drawn before
        (they change in place: no need to sort 10,000 of them after a work check). Rows that went stay pending."""
        waiting = self._pending | set(self._backlog)
        new = [(key, row) for key in waiting - self._drawn if (row := self.row(key)) is not None]
        new.sort(key=lambda pair: (order(pair[1]) if order is not None else (), pair[0]))
        self._backlog = [key for key, _ in new] + [key for key in waiting & self._drawn if self.row(key) is not None]
        self._pending = {key for key in self._pending if self.row(key) is None}

    @property
    def has_pending_rows(self) -> bool:
        return bool(self._pending or self._backlog)

    # --- the queue -------------------------------------------------------------------------------

    def set_queue(self, items: Iterable[QueueItem]) -> None:
        """The queue as just read: rows for every item but completed ones, with pending positions."""
        items = [i for i in items if i.state != ItemState.COMPLETED]
        positions = {item.id: n for n, item in enumerate(pending_in_order(items), start=1)}
        fresh = {QUEUE_KEY_PREFIX + i.id: QueueRow(i, positions.get(i.id)) for i in items}
        for key in self.queue.keys() | fresh.keys():
            if self.queue.get(key) != fresh.get(key):
                self._pending.add(key)
        self.queue = fresh

    @property
    def queued(self) -> int:
        return sum(1 for q in self.queue.values() if q.item.state in WAITING)

    def queued_for(self, name: str) -> str | None:
        """The id of a queued item waiting for this session's issue (kugetsu's naming), or None."""
        for row in self.queue.values():
            if row.item.state not in WAITING:
                continue
            try:
                named = parse_issue_ref(row.item.issue_ref or "").session_name
            except KugetsuError:
                continue
            if named.casefold() == name.casefold():
                return row.item.id
        return None

    # --- parked sessions -------------------------------------------------------------------------

    def set_parked(self, views: Iterable[SessionView]) -> None:
        """The parked sessions as just read: a row each; rows whose file changed or went are redrawn."""
        fresh = {row.key: row for row in (ParkedRow(v) for v in views)}
        for key in self.parked.keys() | fresh.keys():
            if self.parked.get(key) != fresh.get(key):
                self._pending.add(key)
        self.parked = fresh

    def park_refusal(self, shown: SessionView) -> str | None:
        """Why `P` cannot park this session now (the core's own words), or None."""
        if shown.session.name in self.destroying:
            return f"{shown.session.name} is being destroyed"
        return park_refusal(shown, self.activity.get(shown.session.name), self.queued_for(shown.session.name))

    def resume_refusal(self, name: str) -> str | None:
        """Why a parked session cannot take a slot again now (the cap's words), or None."""
        error = refusal(f"resume {name}", self.limit, self.active)
        return None if error is None else str(error)

    # --- work status -----------------------------------------------------------------------------

    def set_work(self, cache: Mapping[str, Mapping[str, Any]]) -> None:
        """A fresh work-status cache: redraw the dev rows whose status changed."""
        old, self._work_cache = self._work_cache, cache
        self._done = set()
        for name, item in self.views.items():
            if item.session.kind != KIND_DEV:
                continue
            entry = cache.get(name)
            if entry is None and old.get(name) is None:
                continue  # never checked: neither done nor changed (a dict lookup, for 10,000 sessions)
            status = work_for(cache, item.session)
            if status.done:
                self._done.add(name)
            if work_for(old, item.session) != status:
                self._pending.add(name)

    @property
    def work_cache(self) -> Mapping[str, Mapping[str, Any]]:
        """The work-status cache as last read (for the capacity view's cost of freeing a slot)."""
        return self._work_cache

    def work(self, item: SessionView) -> WorkStatus:
        if item.session.kind != KIND_DEV:
            return NOT_CHECKED
        return work_for(self._work_cache, item.session)

    @property
    def done(self) -> int:
        """Dev sessions whose PR or issue is finished: slots that a clean-up would free (kept incrementally:
        the footer reads it on every change, and a count over 10,000 sessions would cost each change)."""
        return len(self._done)

    # --- activity ---------------------------------------------------------------------------------

    def set_usage(self, fresh: Mapping[str, Usage]) -> None:
        """Take the tokens and cost as last counted; the rows whose count changed are drawn again."""
        for name in set(fresh) | set(self.usage):
            if fresh.get(name) != self.usage.get(name):
                self._pending.add(name)
        self.usage = dict(fresh)

    def set_activities(self, fresh: Mapping[str, ActivityInfo]) -> list[tuple[str, ActivityInfo]]:
        """Take fresh activities; returns the sessions whose change wants the operator (once per change)."""
        wanted = []
        for name, info in fresh.items():
            old = self.activity.get(name)
            if old == info or name not in self.views:
                continue
            self.activity[name] = info
            self._pending.add(name)
            if old is not None and old.state != info.state and self.views[name].session.kind == KIND_DEV:
                self.activity_changes.append((name, info.state))
            if old is not None and wants_attention(old.state, info.state):
                wanted.append((name, info))
        return wanted

    def needs_you(self, name: str) -> bool:
        """Whether the session's agent wants the operator now (an ask, a denial, silence, an error): the
        rows the title's "(N need you)" counts, and that a filter on "needs you" shows."""
        info = self.activity.get(name)
        return info is not None and info.state in ATTENTION and name in self.views

    @property
    def attention(self) -> int:
        """How many sessions need the operator now (`needs_you`)."""
        return sum(1 for name in self.activity if self.needs_you(name))

    def count_idle(self, now: float) -> bool:
        """Count the dev sessions idle longer than `idle_after` (the footer's `· N idle`); True if it changed.

        Since when comes from the file (when its agent finished), as the capacity view says it."""
        count = 0
        for name, item in self.views.items():
            if item.session.kind != KIND_DEV:
                continue
            activity, since = holder_activity(item.session, None, self.activity.get(name))
            if use_of(activity) == IDLE and since is not None and now - since > self.idle_after:
                count += 1
        changed, self.idle = count != self.idle, count
        return changed

    # --- marks -----------------------------------------------------------------------------------

    def toggle_mark(self, name: str) -> bool:
        """Mark or unmark a dev session; returns whether it is marked now."""
        item = self.views.get(name)
        if item is None or item.session.kind != KIND_DEV:
            return False
        self._pending.add(name)
        if name in self.marked:
            self.marked.discard(name)
            return False
        self.marked.add(name)
        return True

    def marked_views(self) -> list[SessionView]:
        return sorted((self.views[n] for n in self.marked if n in self.views), key=lambda v: v.session.sort_key())

    # --- undo ------------------------------------------------------------------------------------

    def archived(self, entry_ids: list[str], session_names: Iterable[str]) -> None:
        """A destroy archived these entries, of these sessions: one batch for u to restore, and their marks
        go now (the watcher may see the files gone only later: d must not take them again meanwhile)."""
        self._undo.append(entry_ids)
        self.marked.difference_update(session_names)

    def undo_batch(self) -> list[str] | None:
        """The last destroy's entries, taken off the stack to restore (None: nothing to undo)."""
        return self._undo.pop() if self._undo else None

    def restore_failed(self, entry_ids: list[str]) -> None:
        """An undo could not bring these entries back (the cap, say): u tries them again."""
        self._undo.append(entry_ids)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def next_undo(self) -> list[str] | None:
        """The entries u would restore now, left on the stack (None: nothing to undo)."""
        return list(self._undo[-1]) if self._undo else None

    # --- capacity --------------------------------------------------------------------------------

    @property
    def capacity(self) -> Capacity:
        return Capacity(
            self.active,
            self.limit,
            self.watcher_mode,
            self.done,
            self.queued,
            self.server_trouble,
            self.idle,
            self.cluster,
        )

    def start_refusal(self) -> str | None:
        """The core's refusal text when no dev session may start now, else None."""
        error = refusal("start a dev session", self.limit, self.active)
        return None if error is None else str(error)

    @property
    def full(self) -> bool:
        """At capacity with a valid limit: a start would be refused, but work can be queued."""
        return self.limit.value is not None and self.active >= self.limit.value

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
        """Take a sample of the agents in `alive`: rows whose agent came or went are re-derived and redrawn."""
        kept = {name: figures for name, figures in self.stats.items() if name not in alive and name in self.views}
        self.stats = kept | stats
        changed = [
            view(v.session, up) for n, up in alive.items() if (v := self.views.get(n)) is not None and v.alive != up
        ]
        if changed:
            self.merge(changed, [])

    # --- the filter ------------------------------------------------------------------------------

    def matches(self, row: Row) -> bool:
        if not self.filter_text:
            return True
        if isinstance(row, QueueRow):
            fields: tuple[object, ...] = (row.item.id, row.item.issue_ref, row.item.state, "queue", "queued")
        elif isinstance(row, ParkedRow):
            s = row.view.session
            fields = (
                s.name,
                s.issue_ref,
                s.opencode_session_id,
                row.view.shown_state,
                "park",
                s.data.get("branch_name"),
            )
        else:
            s = row.session
            activity = self.activity.get(s.name)
            fields = (
                s.name,
                s.issue_ref,
                s.opencode_session_id,
                row.shown_state,
                s.kind,
                s.data.get("branch_name"),
                self.work(row).label if s.kind == KIND_DEV else None,
                activity.state if activity else None,
                NEEDS_YOU if self.needs_you(s.name) else None,
            )
        haystack = " ".join(str(x) for x in fields if x)
        return self.filter_text.lower() in haystack.lower()

    def refilter(self, text: str, shown_keys: Iterable[str]) -> RowChanges:
        """A new filter text: the rows to add and the rows to take away, given those on screen."""
        self.filter_text = text.strip()
        shown = set(shown_keys)
        every: list[tuple[str, Row]] = [*self.views.items(), *self.queue.items(), *self.parked.items()]
        show = [(k, r) for k, r in every if self.matches(r) and k not in shown]
        hide = [k for k in shown if (r := self.row(k)) is None or not self.matches(r)]
        return RowChanges(show, hide)


def config_stamp(home: Home) -> tuple[float | None, ...]:
    """When the files the limit comes from last changed: the console re-reads the limit only then."""
    return tuple(_mtime(p) for p in (home.config_toml, home.legacy_config))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
