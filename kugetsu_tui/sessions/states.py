"""The one vocabulary of session states, shared by the core, the CLI and the console.

A session file *records* a state (written by kugetsu, by our supervisor, or by a restore); what
an operator is *shown* can differ: a file that cannot be read is `corrupt`, and a recorded
`running` whose processes are gone is shown `failed`. `Session.recorded_state` and
`SessionView.shown_state` keep the two apart; both use this enum.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    IDLE = "idle"
    FAILED = "failed"
    RESTORING = "restoring"
    TIMEOUT = "timeout"
    LEFT = "left"
    USED = "used"
    CORRUPT = "corrupt"
    PARKED = "parked"  # shown, never recorded: the file is in parked/ (sessions/parked.py)
    UNKNOWN = "unknown"

    @classmethod
    def recorded(cls, value: object) -> State:
        """The state a file records; a missing or unrecognised value is UNKNOWN, never an error."""
        # A dict lookup: State(value) goes through the enum machinery, ~20 ms of `ls` at 10,000 sessions.
        return _BY_VALUE.get(value, cls.UNKNOWN) if isinstance(value, str) else cls.UNKNOWN


_BY_VALUE: dict[str, State] = {state.value: state for state in State}


#: What each state means, in the words the help screen and the details use.
MEANINGS: dict[State, str] = {
    State.STARTING: "admitted and holding a slot; its agent is being launched",
    State.RUNNING: "its agent process is at work",
    State.IDLE: "its agent finished its last message and waits for the next one",
    State.FAILED: "its agent exited with an error, or vanished without recording how it ended",
    State.RESTORING: "being brought back from the archive (its slot is already taken)",
    State.TIMEOUT: "kugetsu stopped its agent after its time limit (TASK_TIMEOUT_HOURS)",
    State.LEFT: "written by an older kugetsu: the agent has left; the session still holds its slot",
    State.USED: "written by an older kugetsu: the slot is in use; no agent of ours runs",
    State.CORRUPT: "the file cannot be read as a session (the reason is shown); it still holds its slot",
    State.PARKED: "its slot is freed: its file waits in parked/, its worktree, branch and opencode session are kept; "
    "continue or resume brings it back under the cap",
    State.UNKNOWN: "the file records no state, or one this version does not know",
}

#: States whose agent may be alive: continue and destroy check its processes first.
LAUNCHING = frozenset({State.STARTING, State.RUNNING})
