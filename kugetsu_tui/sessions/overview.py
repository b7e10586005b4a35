"""What `ls` and the console show: every session with its live state, plus the capacity figure."""

from __future__ import annotations

from typing import Any, NamedTuple

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import is_alive
from kugetsu_tui.base.text import head
from kugetsu_tui.sessions.files import KIND_DEV, Session, list_sessions, read_session
from kugetsu_tui.sessions.intents import interrupted
from kugetsu_tui.sessions.limit import Limit, resolve_limit
from kugetsu_tui.sessions.parked import list_parked, parked_path
from kugetsu_tui.sessions.states import MEANINGS, State


class SessionView(NamedTuple):
    """A session as an operator sees it: the file's fields, whether its agent is alive, and
    the shown state and error that follow (derived once, in `view`: they can cost /proc reads)."""

    session: Session
    alive: bool
    shown_state: State
    error: str | None

    def as_json(self) -> dict[str, Any]:
        s = self.session
        return {
            "name": s.name,
            "kind": s.kind,
            "issue_ref": s.issue_ref,
            "opencode_session_id": s.opencode_session_id,
            "state": self.shown_state,
            "pid": s.pid,
            "alive": self.alive,
            "created_at": s.created_at,
            "path": str(s.path),
            "error": self.error,
            # kugetsu's field names; repo is the main checkout the worktree belongs to
            "worktree_path": _field(s, "worktree_path"),
            "branch_name": _field(s, "branch_name"),
            "repo": _field(s, "repo"),
            "parked_at": _field(s, "parked_at") if self.shown_state == State.PARKED else None,
        }


def brief(view: SessionView) -> str | None:
    """The shown reason in a few words, for a table cell (`ls` and the preview show it whole): the head of a
    reason of ours; a reason kugetsu or the agent's supervisor wrote in the file (`error`) is kept whole."""
    if view.error is None:
        return None
    if not view.session.corrupt and view.error == view.session.data.get("error"):
        return view.error
    return head(view.error)


def _field(s: Session, key: str) -> str | None:
    value = None if s.corrupt else s.data.get(key)
    return value if isinstance(value, str) else None


def view(session: Session, alive: bool | None = None) -> SessionView:
    """`alive` is checked from /proc unless the caller has just sampled it."""
    if alive is None:
        alive = not session.corrupt and is_alive(session.pid, session.data.get("pid_started"))
    recorded = session.recorded_state
    shown = _shown_state(session, recorded, alive)
    return SessionView(session, alive, shown, _error(session, recorded, shown))


def parked_view(session: Session) -> SessionView:
    """A parked session as shown: state `parked`; its agent is not alive (parking refuses one that is)."""
    shown = view(session, alive=False)
    return shown if session.corrupt else shown._replace(shown_state=State.PARKED, error=None)


def read_view(home: Home, name: str) -> SessionView | None:
    """One session as shown now, read from its file (in parked/ for a parked one); None when the file is gone."""
    try:
        return view(read_session(home.session_path(name)))
    except FileNotFoundError:
        pass
    try:
        return parked_view(read_session(parked_path(home, name)))
    except FileNotFoundError:
        return None


def _shown_state(s: Session, recorded: State, alive: bool) -> State:
    """The recorded state, corrected when the process it names is gone without a word."""
    if s.corrupt or alive:
        return recorded
    if (
        recorded == State.RUNNING
        and s.pid
        and not is_alive(s.data.get("supervisor_pid"), s.data.get("supervisor_started"))
    ):
        return State.FAILED  # the supervisor, which records the outcome, is gone too
    if (
        recorded == State.STARTING
        and not s.pid
        and not is_alive(s.data.get("starter_pid"), s.data.get("starter_started"))
    ):
        return State.FAILED
    if recorded == State.RESTORING and not is_alive(s.data.get("restorer_pid"), s.data.get("restorer_started")):
        return State.FAILED  # its restore was killed: it must not look like one in progress
    return recorded


def _error(s: Session, recorded: State, shown: State) -> str | None:
    if s.error:
        return s.error
    if shown == State.FAILED and recorded == State.RUNNING:
        return "vanished: its agent process is gone without recording an exit status"
    if shown == State.FAILED and recorded == State.STARTING:
        return "start interrupted: the agent never launched; `kugetsu-tui recover` (or a new start) removes it"
    if shown == State.FAILED and recorded == State.RESTORING:
        return (
            "restore interrupted: `kugetsu-tui recover` (or restore or destroy) "
            "puts it back in the archive and frees its slot"
        )
    value = s.data.get("error")
    if isinstance(value, str) and value:
        return value
    if shown == State.TIMEOUT:
        return "time limit: " + MEANINGS[State.TIMEOUT]
    raw = s.data.get("state")
    if shown == State.UNKNOWN and raw is not None:
        return f"unrecognised state {raw!r}"
    return None


class Overview(NamedTuple):
    active: int
    limit: Limit
    sessions: list[SessionView]

    @property
    def parked(self) -> int:
        """Parked dev sessions: listed, holding no slot."""
        return sum(1 for v in self.sessions if v.shown_state == State.PARKED)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "active": self.active,
            "limit": self.limit.value,
            "sessions": [v.as_json() for v in self.sessions],
        }
        if self.limit.error:
            data["limit_error"] = self.limit.error
        return data


def overview(home: Home) -> Overview:
    sessions = [view(s) for s in list_sessions(home)]
    stopped = interrupted(home)
    if stopped:  # an operation's process died mid-way: its state is not the session's own
        sessions = [
            v._replace(shown_state=State.FAILED, error=stopped[v.session.name]) if v.session.name in stopped else v
            for v in sessions
        ]
    active = sum(1 for v in sessions if v.session.kind == KIND_DEV)
    parked = [parked_view(s) for s in list_parked(home)]  # after the count: a parked session holds no slot
    if parked and stopped:
        parked = [
            v._replace(shown_state=State.FAILED, error=stopped[v.session.name]) if v.session.name in stopped else v
            for v in parked
        ]
    return Overview(active, resolve_limit(home), sessions + parked)
