"""What an agent is doing right now: the one vocabulary of activities, beside `states.State`.

A state says where a session is in its life (running, idle, failed); an activity says what its
agent is doing inside it: thinking, waiting for the model after a rate limit, blocked on a
permission, silent. It comes from opencode's server when one is configured, else from the
agent's own output (see `log_activity`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple


class Activity(StrEnum):
    BUSY = "busy"
    IDLE = "idle"
    RETRY = "retry"
    NEEDS_INPUT = "needs_input"
    DENIED = "denied"
    STALLED = "stalled"
    ERROR = "error"
    UNKNOWN = "unknown"


#: What each activity means, for the help screen, the details and the README.
MEANINGS: dict[Activity, str] = {
    Activity.BUSY: "the agent is working (thinking, calling tools)",
    Activity.IDLE: "the agent finished its last message and waits for the next one",
    Activity.RETRY: "the model call failed (rate limit, server error); opencode tries again at the time shown",
    Activity.NEEDS_INPUT: "the agent waits for an answer: a permission (allow once, always, or reject) or a question",
    Activity.DENIED: "opencode refused a permission the agent asked for; it goes on without it",
    Activity.STALLED: "the agent runs but has printed nothing for longer than [agent] stall_after",
    Activity.ERROR: "the agent's last message ended in an error (the message is shown)",
    Activity.UNKNOWN: "no source can say (the server is unreachable, or the session has no opencode id yet)",
}

#: Activities that want the operator: the console notifies once when a session enters one.
ATTENTION = frozenset({Activity.NEEDS_INPUT, Activity.DENIED, Activity.STALLED, Activity.ERROR})


#: Activities of an agent at work: a change from one of them to `idle` means the work is done.
WORKING = frozenset({Activity.BUSY, Activity.RETRY, Activity.NEEDS_INPUT, Activity.STALLED})


def wants_attention(before: Activity | None, after: Activity) -> bool:
    """Whether a change of activity is worth one notification: it entered an attention state, or went idle after work."""
    if before == after:
        return False
    return after in ATTENTION or (after == Activity.IDLE and before in WORKING)


class ActivityInfo(NamedTuple):
    """An activity with what it is about (`detail`, one line) and since when (epoch seconds, None: not known)."""

    state: Activity
    detail: str = ""
    since: float | None = None

    def as_json(self) -> dict[str, Any]:
        since = None
        if self.since is not None:
            since = datetime.fromtimestamp(self.since, UTC).astimezone().isoformat(timespec="seconds")
        return {"state": self.state, "detail": self.detail, "since": since}
