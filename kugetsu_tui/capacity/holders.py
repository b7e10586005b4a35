"""Who holds each slot: the dev session files, what each agent is doing and since when, and the cost of
freeing the slot (is the work merged, is a PR open, are there uncommitted changes in the worktree)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from kugetsu_tui.capacity.figures import IDLE, use_of
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.files import KIND_DEV, Session
from kugetsu_tui.sessions.states import State
from kugetsu_tui.work.states import WorkState
from kugetsu_tui.work.status import WorkStatus, work_for

#: A session's activity read from its recorded state, when nothing better is known (no console, no server).
ACTIVITY_OF_STATE: dict[State, Activity] = {
    State.STARTING: Activity.BUSY,
    State.RESTORING: Activity.BUSY,
    State.RUNNING: Activity.BUSY,
    State.IDLE: Activity.IDLE,
    State.FAILED: Activity.ERROR,
    State.TIMEOUT: Activity.ERROR,
}


class Holder(NamedTuple):
    """One slot holder as the capacity view shows it."""

    name: str
    issue_ref: str | None
    activity: str
    activity_since: float | None  # when it began doing what it does now (None: not known)
    held_since: float  # when it took its slot
    cpu: float | None  # percent of one core, its agent's whole process tree (None: no live agent)
    memory: int | None  # resident bytes of that tree
    work: WorkStatus
    uncommitted: int | None  # changes in its worktree not committed yet (None: no worktree, or not looked at)

    @property
    def use(self) -> str:
        return use_of(self.activity)

    def idle_for(self, now: float) -> float | None:
        """How long it has been idle (None: it is not idle, or since when is not known)."""
        if self.use != IDLE or self.activity_since is None:
            return None
        return max(0.0, now - self.activity_since)

    @property
    def free_to_free(self) -> bool:
        """Its work is merged or closed and nothing is uncommitted: freeing its slot loses nothing."""
        return self.work.done and not self.uncommitted

    @property
    def cost(self) -> str:
        """What freeing it would cost, in words: `PR #12 merged`, `PR #3 open · 2 uncommitted`, `work ?`
        (uncommitted: files changed in its worktree and not committed; destroy saves them in the archive)."""
        words = [self.work.label if self.work.state != WorkState.UNKNOWN else "work ?"]
        if self.uncommitted:
            words.append(f"{self.uncommitted} uncommitted")
        return " · ".join(words)

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "issue_ref": self.issue_ref,
            "activity": self.activity,
            "use": self.use,
            "activity_seconds": None if self.activity_since is None else round(now - self.activity_since, 1),
            "held_seconds": round(now - self.held_since, 1),
            "cpu_percent": None if self.cpu is None else round(self.cpu, 1),
            "memory_bytes": self.memory,
            "work": self.work.state,
            "work_label": self.work.label,
            "uncommitted": self.uncommitted,
            "cost": self.cost,
        }


def _timestamp(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def holders(
    sessions: list[Session],
    recorded: Mapping[str, tuple[str, float]],
    admitted: Mapping[str, float],
    *,
    activities: Mapping[str, ActivityInfo] | None = None,
    stats: Mapping[str, tuple[float, int]] | None = None,
    work_cache: Mapping[str, Mapping[str, Any]] | None = None,
    uncommitted: Mapping[str, int | None] | None = None,
) -> list[Holder]:
    """Every dev session, each as a Holder. `recorded`: each session's last activity in the ledger and
    since when; `admitted`: when the ledger saw it take its slot. The console passes what it already
    knows (activities, process samples, work status); `stats` alone reads them."""
    found = []
    for session in sessions:
        if session.kind != KIND_DEV:
            continue
        name = session.name
        activity, since = holder_activity(session, recorded.get(name), (activities or {}).get(name))
        cpu, memory = (stats or {}).get(name, (None, None))
        found.append(
            Holder(
                name,
                session.issue_ref,
                activity,
                since,
                admitted.get(name, session.created_timestamp()),
                cpu,
                memory,
                work_for(work_cache or {}, session),
                (uncommitted or {}).get(name),
            )
        )
    return found


def holder_activity(
    session: Session, recorded: tuple[str, float] | None, live: ActivityInfo | None
) -> tuple[str, float | None]:
    """What it does and since when: the live activity (the console's), else the ledger's, else its state.

    The time is the ledger's when it recorded the same kind of use (busy, waiting, idle), else when its
    agent finished (`finished_at`) for an idle one."""
    if session.corrupt:
        activity: str = Activity.UNKNOWN
    elif live is not None:
        activity = live.state
    elif recorded is not None:
        activity = recorded[0]
    else:
        activity = ACTIVITY_OF_STATE.get(session.recorded_state, Activity.UNKNOWN)
    if recorded is not None and use_of(recorded[0]) == use_of(activity):
        return activity, recorded[1]
    if use_of(activity) == IDLE and not session.corrupt:
        return activity, _timestamp(session.data.get("finished_at")) or session.mtime
    return activity, None


def uncommitted_changes(sessions: list[Session]) -> dict[str, int | None]:
    """Each dev session's uncommitted changes in its worktree (runs git: a worker thread in the console)."""
    from kugetsu_tui.worktrees.progress import worktree_progress

    found: dict[str, int | None] = {}
    for session in sessions:
        if session.kind == KIND_DEV and not session.corrupt:
            progress = worktree_progress(session.data)
            found[session.name] = None if progress is None else progress.uncommitted
    return found
