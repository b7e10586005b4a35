"""Draining: start pending items, oldest first, while slots are free (an item for a parked session resumes it).

`drain_once` is a plain blocking function, safe to run from any number of processes and threads at once
(the CLI, `queue drain --watch`, a console's thread worker): each item is claimed in the same locked
section that admits its session, and a claim is only made for the item that is next in the queue then.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.refs import parse_issue_ref
from kugetsu_tui.lifecycle.park import find_parked, resume_session
from kugetsu_tui.lifecycle.start import check_message, start_session
from kugetsu_tui.opencode.settings import AgentConfig, load_agent_config
from kugetsu_tui.queue.claims import (
    ClaimLost,
    DrainOutcome,
    DrainResult,
    claim_timeout,
    refuse_item,
    settle_failed,
    settle_started,
    take_back_stale,
    write_claim,
)
from kugetsu_tui.queue.items import QueueItem, list_items, pending_in_order
from kugetsu_tui.sessions.files import count_active, same_issue_file
from kugetsu_tui.sessions.limit import resolve_limit


def next_item(home: Home, tried: set[str]) -> QueueItem | None:
    """The first pending item in queue order that this pass has not tried yet."""
    return next((item for item in pending_in_order(list_items(home)) if item.id not in tried), None)


def slot_free(home: Home) -> bool:
    """A cheap look before a start; an invalid limit says yes so that the start explains the refusal."""
    limit = resolve_limit(home)
    return limit.value is None or count_active(home) < limit.value


def drain_once(
    home: Home, config: AgentConfig | None = None, should_stop: Callable[[], bool] = lambda: False
) -> list[DrainResult]:
    """One pass: take back stale claims, then start items while slots are free; each item at most once.

    Never raises for what it finds: a problem that blocks every start (no base session, agent missing,
    invalid limit, broken config.toml) ends the pass with a `blocked` result.
    """
    try:
        config = config or load_agent_config(home)
    except KugetsuError as exc:
        return [DrainResult(None, None, DrainOutcome.BLOCKED, str(exc))]
    results = take_back_stale(home, claim_timeout(config))
    tried: set[str] = set()
    while not should_stop():
        item = next_item(home, tried)
        if item is None or not slot_free(home):
            break
        try:
            result = _start_item(home, item, config, tried)
        except AtCapacityError:
            break  # another starter took the last slot first
        except ClaimLost:
            continue  # another drainer took it, or another item moved ahead: look again
        if result is not None:
            results.append(result)
            if result.outcome == DrainOutcome.BLOCKED:
                break
    return results


def _start_item(home: Home, item: QueueItem, config: AgentConfig, tried: set[str]) -> DrainResult | None:
    try:
        ref = parse_issue_ref(item.issue_ref or "")
        check_message(item.message)  # a message no agent can take fails every retry: refused at once
    except KugetsuError as exc:
        tried.add(item.id)
        return refuse_item(home, item, str(exc))
    parked = find_parked(home, ref.session_name)  # a queued resume: it takes the slot back, then gets the message
    other = same_issue_file(home.sessions_dir, ref.session_name)  # the issue's session under another case
    existing = home.session_path(other[: -len(".json")] if other else ref.session_name)
    if os.path.lexists(existing):
        tried.add(item.id)
        return refuse_item(home, item, f"{ref} already has a session ({existing.name})")
    claims: list[str] = []

    def claim(run_id: str) -> None:
        """Under the sessions lock, after the recount: claim only if it is still the next item."""
        current = next_item(home, tried)
        if current is None or current.id != item.id:
            raise ClaimLost(f"{item.id} is no longer next in the queue")
        write_claim(home, current, run_id)
        claims.append(run_id)

    try:
        if parked is not None:
            launched = resume_session(home, parked.name, item.message, config, on_admit=claim).launched
            assert launched is not None  # a message was given
        else:
            launched = start_session(home, ref.text, item.message, config, on_admit=claim)
    except (ClaimLost, AtCapacityError):
        raise
    except KugetsuError as exc:
        if claims:
            tried.add(item.id)
            return settle_failed(home, item, claims[0], str(exc))
        if os.path.lexists(existing):  # the ref got a session between our look and the lock
            tried.add(item.id)
            return refuse_item(home, item, f"{ref} already has a session ({existing.name})")
        return DrainResult(item.id, item.issue_ref, DrainOutcome.BLOCKED, str(exc))
    tried.add(item.id)
    return settle_started(home, item, claims[0], launched)


def describe(result: DrainResult) -> str:
    from kugetsu_tui.base.text import printable

    if result.outcome == DrainOutcome.PARKED:
        return printable(result.detail)  # said whole by queue/parking.py's describe
    if result.item_id is None:
        return f"{result.outcome}: {printable(result.detail)}"
    return f"{result.outcome} {printable(result.item_id)} {printable(result.issue_ref)}: {printable(result.detail)}"
