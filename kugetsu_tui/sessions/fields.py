"""Every field of a session file, named once: whose it is (kugetsu's or ours) and its role.

kugetsu's fields are its layout (v2.x, then the worktree fields of kugetsu #135); ours sit beside them. A field
named nowhere here is still kept on every rewrite: the table is what this version knows. The sets the code uses
are derived from it, so a new field is named once, with its role, and a test fails for a field our code writes
that the table does not name.
"""

from __future__ import annotations

from enum import Flag, StrEnum, auto
from typing import NamedTuple


class Whose(StrEnum):
    KUGETSU = "kugetsu"
    OURS = "kugetsu-tui"


class Role(Flag):
    """What a field is for, beyond saying what the session is."""

    RECORD = 0  # says what the session is: kept as long as it exists, through a destroy and restore too
    RUNTIME = auto()  # of one run of its agent: means nothing once the session is restored, which clears it
    INTERNAL = auto()  # our own bookkeeping for the supervisor and the cap's checks: shown apart in the details
    CLAIM = auto()  # the admission's claim on the slot: which launch holds it, and which process was admitted


class Field(NamedTuple):
    whose: Whose
    role: Role


_KUGETSU, _OURS = Whose.KUGETSU, Whose.OURS
_RUN = Role.RUNTIME | Role.INTERNAL

FIELDS: dict[str, Field] = {
    "type": Field(_KUGETSU, Role.RECORD),  # "base", "forked" (a dev session) or "pm_agent"
    "issue_ref": Field(_KUGETSU, Role.RECORD),
    "opencode_session_id": Field(_KUGETSU, Role.RECORD),
    "created_at": Field(_KUGETSU, Role.RECORD),
    "state": Field(_KUGETSU, Role.RECORD),  # sessions.states.State
    "worktree_path": Field(_KUGETSU, Role.RECORD),
    "branch_name": Field(_KUGETSU, Role.RECORD),
    "pr_url": Field(_KUGETSU, Role.RECORD),  # read by the work status, never written by us
    "repo": Field(_OURS, Role.RECORD),  # the main checkout the worktree belongs to
    "pid": Field(_OURS, Role.RUNTIME),  # the agent's process
    "exit_code": Field(_OURS, Role.RUNTIME),
    "finished_at": Field(_OURS, Role.RUNTIME),
    "error": Field(_OURS, Role.RUNTIME),  # why the run failed, in words
    "pid_started": Field(_OURS, _RUN),  # the start times: a reused pid is never taken for the process
    "supervisor_pid": Field(_OURS, _RUN),  # the process that records the agent's outcome
    "supervisor_started": Field(_OURS, _RUN),
    "first_event_at": Field(_OURS, _RUN),  # the agent is at work: start and continue wait for it
    "run_id": Field(_OURS, _RUN | Role.CLAIM),  # every later write of the launch checks it
    "starter_pid": Field(_OURS, _RUN | Role.CLAIM),  # the start that was admitted (its death before launch: failed)
    "starter_started": Field(_OURS, _RUN | Role.CLAIM),
    "restorer_pid": Field(_OURS, _RUN),  # the restore holding the slot: its death leaves an interrupted restore
    "restorer_started": Field(_OURS, _RUN),
    "log": Field(_OURS, Role.INTERNAL),  # the agent log
    "cwd": Field(_OURS, Role.INTERNAL),  # where the agent runs: opencode files sessions by directory
    "worktree_base": Field(_OURS, Role.INTERNAL),  # what destroy compares the branch with
    "worktree_base_commit": Field(_OURS, Role.INTERNAL),
    "restored_at": Field(_OURS, Role.INTERNAL),
    "parked_at": Field(_OURS, Role.INTERNAL),  # in parked/ only: when it was parked (dropped on resume)
}

KUGETSU = frozenset(name for name, field in FIELDS.items() if field.whose is Whose.KUGETSU)
RUNTIME = frozenset(name for name, field in FIELDS.items() if Role.RUNTIME in field.role)
INTERNAL = frozenset(name for name, field in FIELDS.items() if Role.INTERNAL in field.role)
CLAIM = frozenset(name for name, field in FIELDS.items() if Role.CLAIM in field.role)
