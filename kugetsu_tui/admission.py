"""The cap, enforced in exactly one place.

Admission of a new dev session (start or restore) happens while holding the sessions lock:
recount the dev files, refuse if the cap is reached, otherwise create the session file in
that same critical section. The file itself is the slot: it counts from the moment it exists
until it is destroyed, whatever happens to the agent, so no crash or fork can release it early.
"""

from __future__ import annotations

from kugetsu_tui.config import Limit, resolve_limit
from kugetsu_tui.errors import AtCapacityError, KugetsuError
from kugetsu_tui.home import Home
from kugetsu_tui.sessions import count_active


def refusal(what: str, limit: int, active: int) -> str:
    return (f"Cannot start {what}: maximum concurrent agents ({limit}) reached "
            f"({active}/{limit} active). Destroy a finished session first.")


def require_valid(limit: Limit, what: str) -> int:
    if limit.value is None:
        raise KugetsuError(f"Cannot start {what}: {limit.error}. Fix it first.")
    return limit.value


def check_capacity(home: Home, what: str) -> int:
    """Raise AtCapacityError if no slot is free now; return the active count otherwise.

    Called once as a cheap preflight (before any side effect) and again under the lock, each
    time with the limit read afresh so a limit lowered meanwhile is honoured.
    """
    value = require_valid(resolve_limit(home), what)
    active = count_active(home)
    if active >= value:
        raise AtCapacityError(refusal(what, value, active))
    return active
