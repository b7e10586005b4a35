"""The cap, enforced in exactly one place.

Admission of a new dev session (start or restore) happens while holding the sessions lock:
recount the dev files, refuse if the cap is reached, otherwise create the session file in
that same critical section. The file itself is the slot: it counts from the moment it exists
until it is destroyed, whatever happens to the agent, so no crash or fork can release it early.
"""

from __future__ import annotations

from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.sessions import ledger
from kugetsu_tui.sessions.files import count_active
from kugetsu_tui.sessions.limit import Limit, resolve_limit


def refusal(what: str, limit: Limit, active: int) -> KugetsuError | None:
    # `what` completes "Cannot ...": "start dev session for github.com/a/b#1", "restore NAME".
    """Why a new dev session may not start now (as the error to raise), or None if it may.

    The console asks this too, with its live figures, so its dimmed key and message are the
    core's own.
    """
    if limit.value is None:
        return KugetsuError(f"Cannot {what}: {limit.error}. Fix it first.")
    if active >= limit.value:
        return AtCapacityError(
            f"Cannot {what}: maximum concurrent agents ({limit.value}) reached "
            f"({active}/{limit.value} active). Destroy a finished session first."
        )
    return None


def check_capacity(home: Home, what: str, session: str, *, locked: bool = False) -> int:
    """Raise if no slot is free now; return the active count otherwise.

    Called once as a cheap preflight (before any side effect) and again under the lock (`locked`), each
    time with the limit read afresh so a limit lowered meanwhile is honoured. A refusal at capacity is
    the lock's word: the preflight takes the lock to confirm it and to record it in the ledger once.
    """
    active = count_active(home)
    limit = resolve_limit(home)
    error = refusal(what, limit, active)
    if error is None:
        return active
    if isinstance(error, AtCapacityError):
        if not locked:
            with sessions_lock(home):
                return check_capacity(home, what, session, locked=True)
        ledger.record(home, ledger.Event.REFUSED_AT_CAPACITY, session, active=active, limit=limit.value)
    raise error


def record_admitted(home: Home, session: str) -> None:
    """Its file now holds a slot (under the sessions lock, right after it was written)."""
    ledger.record_counted(home, ledger.Event.ADMITTED, session)


def record_released(home: Home, session: str) -> None:
    """Its file has left sessions/ (under the sessions lock, right after it went)."""
    ledger.record_counted(home, ledger.Event.RELEASED, session)
