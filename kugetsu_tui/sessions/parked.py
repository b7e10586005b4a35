"""Parked dev sessions, read-only: their files in `parked/`, and whether a session may be parked now.

A parked session's file is out of `sessions/`, so neither our count nor kugetsu's (`sessions/*.json`)
sees it: its slot is free. Its worktree, branch, log and opencode session stay where they were, so
resuming it (lifecycle/park.py) goes on where it stopped. The file is read with a session file's
guards and shown with the state `parked`; it never counts as active.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.files import KIND_DEV, Session, read_session, session_paths
from kugetsu_tui.sessions.states import LAUNCHING, State

if TYPE_CHECKING:
    from kugetsu_tui.sessions.overview import SessionView

#: Ours, in the parked file: when it was parked (kugetsu never reads parked/).
PARKED_AT = "parked_at"


def parked_path(home: Home, name: str) -> Path:
    return home.parked_dir / f"{name}.json"


def is_parked(home: Home, name: str) -> bool:
    return os.path.lexists(parked_path(home, name))


def list_parked(home: Home) -> list[Session]:
    """Every parked session's file, in creation order (one failed listing while there are none)."""
    found = []
    for path in session_paths(home.parked_dir):
        try:
            found.append(read_session(path))
        except FileNotFoundError:
            continue  # resumed between the listing and the read
    return sorted(found, key=Session.sort_key)


def park_refusal(shown: SessionView, activity: ActivityInfo | None, queued: str | None) -> str | None:
    """Why this session may not be parked now, or None when it may: only an idle dev session whose agent
    waits for nothing and for which no prompt waits in the queue (`queued`: that item's id).

    Pure, so the console asks it for the row under the cursor and the core asks it again under the lock."""
    s = shown.session
    name = s.name
    if s.kind != KIND_DEV:
        return (
            f"cannot park {name}: only dev sessions are parked, not the {'base' if s.kind == 'base' else 'PM'} session"
        )
    if s.corrupt:
        return f"cannot park {name}: its file is unusable ({s.error})"
    if shown.shown_state == State.PARKED:
        return f"{name} is parked already: continue or resume brings it back"
    if shown.alive or shown.shown_state in LAUNCHING or shown.shown_state == State.RESTORING:
        pid = f" (pid {s.pid})" if s.pid else ""
        return f"cannot park {name}: its agent is {shown.shown_state}{pid}: park it once it is idle"
    if activity is not None and activity.state == Activity.NEEDS_INPUT:
        return f"cannot park {name}: its agent waits for an answer ({activity.detail or 'an ask'}): answer it first"
    if queued:
        return f"cannot park {name}: a prompt for it waits in the queue ({queued}): let it start, or remove it"
    return None
