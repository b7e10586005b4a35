"""Draining whenever a slot may have freed: `queue drain --watch`, event-driven until stopped.

The sessions directory (a destroy frees a slot) and the queue directory (an item added or moved) are
watched with `watch.session_batches`; a drain pass runs in a thread after each change. Nothing runs while
nothing changes, except one timer for a claim that may go stale (a drainer killed mid-start), and, with
`[capacity] park_idle_after` set, one a minute to park the sessions idle longer than that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.settings import DEFAULT_START_WAIT, load_agent_config
from kugetsu_tui.queue.claims import CLAIM_GRACE_S, DrainOutcome, DrainResult, claim_timeout, seconds_until_stale
from kugetsu_tui.queue.drain import drain_once
from kugetsu_tui.queue.items import ensure_queue_dirs, list_items
from kugetsu_tui.queue.parking import apply_policy
from kugetsu_tui.queue.parking import describe as describe_park
from kugetsu_tui.sessions.capacity_settings import park_idle_after
from kugetsu_tui.sessions.watch import session_batches

MIN_TIMER_S = 0.5  # a stale-claim timer never fires more often than this
POLICY_INTERVAL_S = 60.0  # with [capacity] park_idle_after set, idle sessions are looked at once a minute


def _timeout(home: Home) -> float:
    try:
        return claim_timeout(load_agent_config(home))
    except KugetsuError:
        return DEFAULT_START_WAIT + CLAIM_GRACE_S


async def _changes(directory: Path, stop: asyncio.Event, changed: asyncio.Event, attached: asyncio.Event) -> None:
    async for _batch in session_batches(directory, stop):
        attached.set()  # the first batch comes once the watch is in place
        changed.set()


def _drain(home: Home, stop: asyncio.Event) -> list[DrainResult]:
    """Park what `[capacity] park_idle_after` says is idle too long (its slot may go to the queue), then drain."""
    try:
        parked = [DrainResult(None, o.name, DrainOutcome.PARKED, describe_park(o)) for o in apply_policy(home)]
    except (KugetsuError, OSError) as exc:
        parked = [DrainResult(None, None, DrainOutcome.PARKED, f"not applied: {exc}")]
    try:
        return parked + drain_once(home, should_stop=stop.is_set)
    except OSError as exc:
        return [*parked, DrainResult(None, None, DrainOutcome.BLOCKED, f"{exc.strerror or exc} ({exc.filename})")]


def _policy_wait(home: Home) -> float | None:
    """How soon to look again for idle sessions to park: every POLICY_INTERVAL_S while the policy is on."""
    try:
        return POLICY_INTERVAL_S if park_idle_after(home) is not None else None
    except KugetsuError:
        return None


async def drain_until_stopped(
    home: Home, stop: asyncio.Event, report: Callable[[DrainResult], None], on_ready: Callable[[], None] = lambda: None
) -> None:
    """Drain once both directories are watched, then after every change, until `stop` is set.

    `on_ready` is called after that first pass: from then on no change is missed. On `stop`, the
    start in progress is finished first.
    """
    home.ensure(home.root, home.sessions_dir)
    ensure_queue_dirs(home)
    changed = asyncio.Event()
    attached = [asyncio.Event(), asyncio.Event()]
    followers = [
        asyncio.ensure_future(_changes(directory, stop, changed, event))
        for directory, event in zip((home.sessions_dir, home.queue_items_dir), attached, strict=True)
    ]
    stopping = asyncio.ensure_future(stop.wait())
    try:
        watching: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*(e.wait() for e in attached)))
        await asyncio.wait({watching, stopping}, return_when=asyncio.FIRST_COMPLETED)
        watching.cancel()
        ready = False
        while not stop.is_set():
            if ready:
                waits = [seconds_until_stale(list_items(home), _timeout(home), time.time()), _policy_wait(home)]
                wait = min((w for w in waits if w is not None), default=None)
                woken = asyncio.ensure_future(changed.wait())
                await asyncio.wait(
                    {woken, stopping},
                    timeout=None if wait is None else max(wait, MIN_TIMER_S),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                woken.cancel()
                if stop.is_set():
                    break
            changed.clear()
            for result in await asyncio.to_thread(_drain, home, stop):
                report(result)
            if not ready:
                ready = True
                on_ready()
    finally:
        stopping.cancel()
        for follower in followers:
            follower.cancel()
        await asyncio.gather(*followers, stopping, return_exceptions=True)
