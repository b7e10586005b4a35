"""Cleaning up finished work: destroy every dev session whose work is done, and no other.

A session is destroyed only when a check made now says done (merged, or PR/issue closed); open and
unknown sessions are never touched. A done session whose agent is still running is skipped, and so is
one that changed between the check and its destroy (another start under the same name, a new run).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.files import Session, read_session
from kugetsu_tui.sessions.states import LAUNCHING
from kugetsu_tui.work.status import FORGE_TIMEOUT, WorkStatus, check_work

if TYPE_CHECKING:
    from kugetsu_tui.lifecycle.archive import Destroyed

BUSY_STATES = LAUNCHING  # a session whose agent may be at work is never pruned


class Finished(NamedTuple):
    session: Session
    work: WorkStatus


class Skipped(NamedTuple):
    finished: Finished
    reason: str


class PrunePlan(NamedTuple):
    """What a prune would do: destroy `done`, leave `skipped` (done, but busy)."""

    done: list[Finished]
    skipped: list[Skipped]


class PruneResult(NamedTuple):
    destroyed: list[tuple[Finished, Destroyed]]
    skipped: list[Skipped]
    error: str | None


def plan_prune(home: Home, *, timeout: float = FORGE_TIMEOUT, environ: Mapping[str, str] | None = None) -> PrunePlan:
    """Check every dev session now and sort out the done ones. Blocking: call it from a worker thread."""
    done: list[Finished] = []
    skipped: list[Skipped] = []
    for session, work in check_work(home, timeout=timeout, environ=environ):
        if not work.done:
            continue
        busy = _busy(session)
        if busy:
            skipped.append(Skipped(Finished(session, work), busy))
        else:
            done.append(Finished(session, work))
    return PrunePlan(done, skipped)


def prune(
    home: Home, plan: PrunePlan, *, on_destroyed: Callable[[Finished, Destroyed], None] | None = None
) -> PruneResult:
    """Destroy the plan's done sessions (everything destroy does), stopping at the first error.

    What was destroyed before an error stays destroyed and is in the result.
    """
    from kugetsu_tui.lifecycle.archive import destroy_session

    destroyed: list[tuple[Finished, Destroyed]] = []
    skipped = list(plan.skipped)
    for finished in plan.done:
        changed = _changed_since_check(finished.session)
        if changed:
            skipped.append(Skipped(finished, changed))
            continue
        try:
            result = destroy_session(home, finished.session.name)
        except (KugetsuError, OSError) as exc:
            message = str(exc) if isinstance(exc, KugetsuError) else f"{exc.strerror or exc}"
            return PruneResult(destroyed, skipped, f"destroy {finished.session.name}: {message}")
        destroyed.append((finished, result))
        if on_destroyed is not None:
            on_destroyed(finished, result)
    return PruneResult(destroyed, skipped, None)


def _busy(session: Session) -> str | None:
    from kugetsu_tui.sessions.overview import view

    shown = view(session)
    if shown.alive or shown.shown_state in BUSY_STATES:
        return f"its agent is {shown.shown_state if shown.shown_state in BUSY_STATES else 'running'}"
    return None


def _changed_since_check(checked: Session) -> str | None:
    try:
        now = read_session(checked.path)
    except FileNotFoundError:
        return "it was destroyed meanwhile"
    if now.issue_ref != checked.issue_ref or now.created_at != checked.created_at:
        return "it was replaced by another session since the check"
    return _busy(now)
