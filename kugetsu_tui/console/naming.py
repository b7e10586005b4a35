"""How a notification names a session: one way, whichever toast says it.

A dev session by its issue ref (what the operator typed and the table shows first), a session without one
(base, PM, a file that cannot be read) by its file name. A toast that named a session by its file name here
and by its ref there made two sessions of one.
"""

from __future__ import annotations

from kugetsu_tui.base.text import printable


def session_label(name: str, issue_ref: object = None) -> str:
    """The issue ref where there is one, else the file name; printable either way (both come from files)."""
    return printable(issue_ref if isinstance(issue_ref, str) and issue_ref else name)
