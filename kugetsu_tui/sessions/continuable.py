"""Whether a session can be continued now: the one check that `continue` runs and the console shows first.

Pure and cheap (no process or file access: the caller says whether the agent is alive), so the
console can ask it for the row under the cursor each time the footer is drawn.
"""

from __future__ import annotations

from kugetsu_tui.base.refs import session_id_problem
from kugetsu_tui.sessions.files import Session


def continue_refusal(session: Session, alive: bool) -> str | None:
    """Why `session` cannot take a further message now, or None when it can."""
    if session.corrupt:
        return f"cannot continue {session.name}: its file is unusable ({session.error})"
    sid = session.opencode_session_id
    if not sid:
        return f"cannot continue {session.name}: it has no opencode session id yet"
    problem = session_id_problem(sid)
    if problem:
        return f"cannot continue {session.name}: its opencode_session_id {problem}"
    if alive:
        return f"cannot continue {session.name}: its agent is still running (pid {session.pid})"
    return None
