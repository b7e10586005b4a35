"""Claiming an item as its session is admitted, settling the claim, and taking back stale claims.

The claim is written inside `start_session`'s locked section (its `on_admit` hook), after the recount and
before the placeholder: one flock covers "this item is taken" and "this slot is taken", so no two drainers
(processes, a console, threads) start one item, and none overshoots the cap. Every later write checks the
claim's run id first, so a drainer whose claim was taken back changes nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, NamedTuple

from kugetsu_tui.base.atomic import write_json
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.base.process import is_alive, start_time
from kugetsu_tui.base.refs import parse_issue_ref
from kugetsu_tui.base.text import counted
from kugetsu_tui.lifecycle.start import Launched
from kugetsu_tui.opencode.settings import AgentConfig
from kugetsu_tui.queue.items import (
    MAX_ATTEMPTS,
    ItemState,
    QueueItem,
    iso_now,
    list_items,
    parse_time,
    read_item,
    record_queue_event,
)
from kugetsu_tui.sessions import index
from kugetsu_tui.sessions.admission import record_released
from kugetsu_tui.sessions.files import Session, read_session
from kugetsu_tui.sessions.ledger import Event
from kugetsu_tui.sessions.states import State

CLAIM_GRACE_S = 30.0  # beyond start_wait: a claim this old is taken back even if its drainer still runs
CLAIM_FIELDS = ("run_id", "claimed_at", "claimed_by")


class DrainOutcome(StrEnum):
    """What a drain did with an item: the first word of each line `queue drain` prints."""

    STARTED = "started"
    RETRY = "retry"
    GAVE_UP = "gave up"
    REFUSED = "refused"
    TAKEN_BACK = "taken back"
    BLOCKED = "blocked"
    PARKED = "parked"  # `queue drain --watch` parked an idle session ([capacity] park_idle_after)


class DrainResult(NamedTuple):
    """What a drain did with one item (`item_id` is None when the whole drain is blocked)."""

    item_id: str | None
    issue_ref: str | None
    outcome: DrainOutcome
    detail: str


class ClaimLost(KugetsuError):
    """The item is no longer the next to start: another drainer took it, or another moved ahead."""


def claim_timeout(config: AgentConfig) -> float:
    """How long a claim may last: the start's own wait for the agent, plus a grace."""
    return config.start_wait + CLAIM_GRACE_S


def write_claim(home: Home, item: QueueItem, run_id: str) -> None:
    """Mark the item as being started by this process: it leaves the queue. The caller holds the sessions lock."""
    pid = os.getpid()
    write_json(
        item.path,
        dict(
            item.data,
            state=ItemState.STARTING,
            run_id=run_id,
            claimed_at=iso_now(precise=True),
            claimed_by={"pid": pid, "started": start_time(pid)},
        ),
    )
    waited = max(0.0, time.time() - item.queued_timestamp())
    record_queue_event(home, Event.DEQUEUED, item, reason="claimed", waited_s=round(waited, 3))


def _release(data: dict[str, Any]) -> None:
    for key in CLAIM_FIELDS:
        data.pop(key, None)


def _settle(home: Home, item: QueueItem, run_id: str, mutate: Callable[[dict[str, Any]], None]) -> bool:
    """Apply `mutate` under the lock if the item is still our claim; False if the claim was lost."""
    with sessions_lock(home):
        try:
            current = read_item(item.path)
        except FileNotFoundError:
            return False
        if current.state != ItemState.STARTING or current.data.get("run_id") != run_id:
            return False
        data = dict(current.data)
        mutate(data)
        write_json(current.path, data)
        if data.get("state") == ItemState.PENDING:  # a failed start: the item is back in the queue
            record_queue_event(home, Event.QUEUED, current, reason="retry")
        return True


def settle_started(home: Home, item: QueueItem, run_id: str, launched: Launched) -> DrainResult:
    def done(data: dict[str, Any]) -> None:
        data.update(state=ItemState.COMPLETED, completed_at=iso_now(), session=launched.name, error=None)
        if launched.opencode_session_id:
            data["opencode_session_id"] = launched.opencode_session_id

    settled = _settle(home, item, run_id, done)
    sid = launched.opencode_session_id or "pending"
    note = "" if settled else " (its claim had been taken back meanwhile)"
    return DrainResult(
        item.id, item.issue_ref, DrainOutcome.STARTED, f"as {launched.name} (opencode session {sid}){note}"
    )


def settle_failed(home: Home, item: QueueItem, run_id: str, message: str) -> DrainResult | None:
    """A failed start counts an attempt: back to pending, or `error` with the agent's words after the last."""
    attempts: list[int] = []

    def failed(data: dict[str, Any]) -> None:
        count = QueueItem(item.id, item.path, data).attempts + 1
        attempts.append(count)
        _release(data)
        data.update(attempts=count, last_error=message)
        if count >= MAX_ATTEMPTS:
            data.update(state=ItemState.ERROR, error=message)
        else:
            data.update(state=ItemState.PENDING)

    if not _settle(home, item, run_id, failed):
        return None
    count = attempts[0]
    if count >= MAX_ATTEMPTS:
        return DrainResult(
            item.id, item.issue_ref, DrainOutcome.GAVE_UP, f"after {counted(count, 'attempt')}: {message}"
        )
    return DrainResult(
        item.id,
        item.issue_ref,
        DrainOutcome.RETRY,
        f"attempt {count}/{MAX_ATTEMPTS} failed, back in the queue: {message}",
    )


def refuse_item(home: Home, item: QueueItem, message: str) -> DrainResult | None:
    """An item that can never start as it is (bad ref, the ref already has a session) becomes `error`."""
    with sessions_lock(home):
        try:
            current = read_item(item.path)
        except FileNotFoundError:
            return None
        if current.state != ItemState.PENDING:
            return None
        write_json(current.path, dict(current.data, state=ItemState.ERROR, error=message))
        record_queue_event(home, Event.DEQUEUED, current, reason="refused")
    return DrainResult(item.id, item.issue_ref, DrainOutcome.REFUSED, message)


def is_stale(item: QueueItem, timeout: float, now: float) -> bool:
    """A claim whose drainer is gone (pid and start time), or older than `timeout`."""
    by = item.data.get("claimed_by")
    if not isinstance(by, dict) or not is_alive(by.get("pid"), by.get("started")):
        return True
    claimed = parse_time(item.data.get("claimed_at"))
    return claimed is None or now - claimed > timeout


def seconds_until_stale(items: list[QueueItem], timeout: float, now: float) -> float | None:
    """When the next claim in `items` goes stale by age, for a drainer that waits for nothing else."""
    deadlines = [
        claimed + timeout
        for item in items
        if item.state == ItemState.STARTING and (claimed := parse_time(item.data.get("claimed_at"))) is not None
    ]
    return max(0.0, min(deadlines) - now) if deadlines else None


def take_back_stale(home: Home, timeout: float) -> list[DrainResult]:
    """Settle every stale claim: started if its agent was launched, else pending again (nothing stuck)."""
    if not any(i.state == ItemState.STARTING and is_stale(i, timeout, time.time()) for i in list_items(home)):
        return []
    results = []
    with sessions_lock(home):
        for item in list_items(home):
            if item.state == ItemState.STARTING and is_stale(item, timeout, time.time()):
                results.append(_take_back(home, item))
    return results


def _claimed_session(home: Home, item: QueueItem) -> Session | None:
    run_id = item.data.get("run_id")
    try:
        session = read_session(home.session_path(parse_issue_ref(item.issue_ref or "").session_name))
    except (KugetsuError, FileNotFoundError):
        return None
    if session.corrupt or not isinstance(run_id, str) or session.data.get("run_id") != run_id:
        return None
    return session


def _take_back(home: Home, item: QueueItem) -> DrainResult:
    """The caller holds the sessions lock."""
    session = _claimed_session(home, item)
    data = dict(item.data)
    if session is not None and (session.data.get("supervisor_pid") or session.data.get("state") != State.STARTING):
        # The agent was launched before its drainer stopped: it is started, never start it again.
        data.update(state=ItemState.COMPLETED, completed_at=iso_now(), session=session.name, error=None)
        if session.opencode_session_id:
            data["opencode_session_id"] = session.opencode_session_id
        write_json(item.path, data)
        return DrainResult(
            item.id, item.issue_ref, DrainOutcome.STARTED, f"as {session.name} (its drainer stopped after launching it)"
        )
    if session is not None:
        # A placeholder nobody will launch (a late supervisor finds it gone and starts nothing).
        index.remove_entry(home, session)
        session.path.unlink()
        record_released(home, session.name)
        try:
            home.log_path(session.name).unlink()
        except FileNotFoundError:
            pass
    _release(data)
    data.update(state=ItemState.PENDING, last_error="taken back: its drainer stopped before the agent was launched")
    write_json(item.path, data)
    record_queue_event(home, Event.QUEUED, item, reason="taken back")
    return DrainResult(
        item.id, item.issue_ref, DrainOutcome.TAKEN_BACK, "its drainer stopped before launching it: pending again"
    )
