"""Parking as the queue sees it: no session is parked while a prompt for it waits in the queue, idle sessions
are parked by age (`park --idle-over`, the `[capacity] park_idle_after` policy), and a resume refused at
capacity is queued.

The park itself is lifecycle/park.py; this adds what only the queue's layer can ask (its items), so every
caller (the CLI, the console, `queue drain --watch`) parks through `park` here.
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple

from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.refs import parse_issue_ref
from kugetsu_tui.base.text import age
from kugetsu_tui.lifecycle.park import Parked, Resumed, find_parked, park_session, resume_session
from kugetsu_tui.lifecycle.start import DEFAULT_CONTINUE_MESSAGE
from kugetsu_tui.opencode.settings import load_agent_config
from kugetsu_tui.queue.items import WAITING, list_items
from kugetsu_tui.queue.manage import Queued, enqueue
from kugetsu_tui.sessions.activities import ActivityInfo
from kugetsu_tui.sessions.capacity_settings import park_idle_after
from kugetsu_tui.sessions.files import KIND_DEV, Session, list_sessions
from kugetsu_tui.sessions.overview import SessionView, view
from kugetsu_tui.sessions.states import State

#: Whatever the setting, a session used this recently is never parked by age: its operator is at it.
RECENT_USE_S = 300.0


class ParkOutcome(NamedTuple):
    """What parking by age did with one session: `refused` is None when it was parked."""

    name: str
    idle_for: float
    refused: str | None


def waiting_item(home: Home, session: Session) -> str | None:
    """The id of a queue item waiting for this session's issue (kugetsu's naming: case-insensitive), or None."""
    for item in list_items(home):
        if item.state not in WAITING:
            continue
        try:
            named = parse_issue_ref(item.issue_ref or "").session_name
        except KugetsuError:
            continue
        if named.casefold() == session.name.casefold():
            return item.id
    return None


def park(home: Home, target: str, activity: ActivityInfo | None = None, *, asked: bool = False) -> Parked:
    """Park a dev session (lifecycle/park.py), refused while a prompt for it waits in the queue.

    `asked`: the caller knows its agent's activity (`activity`), so the server is not asked again."""
    return park_session(
        home,
        target,
        waiting=lambda session: waiting_item(home, session),
        activity=(lambda session: activity) if asked else None,
    )


def last_used(shown: SessionView, activity: ActivityInfo | None) -> float:
    """When the session was last used: its file written (a run ended, a message sent), its log written, or
    its activity changed, whichever is latest."""
    times = [shown.session.mtime]
    log = shown.session.log
    if log:
        try:
            times.append(os.stat(log).st_mtime)
        except OSError:
            pass
    if activity is not None and activity.since is not None:
        times.append(activity.since)
    return max(times)


def idle_sessions(
    home: Home, over: float, activities: dict[str, ActivityInfo] | None = None, now: float | None = None
) -> list[tuple[SessionView, float]]:
    """Idle dev sessions unused for longer than `over` (and never less than RECENT_USE_S), longest idle first."""
    now = time.time() if now is None else now
    found = activities if activities is not None else {}
    idle = []
    for session in list_sessions(home):
        if session.kind != KIND_DEV or session.corrupt:
            continue
        shown = view(session)
        if shown.shown_state != State.IDLE or shown.alive:
            continue
        unused = now - last_used(shown, found.get(session.name))
        if unused > max(over, RECENT_USE_S):
            idle.append((shown, unused))
    return sorted(idle, key=lambda pair: -pair[1])


def park_idle(home: Home, over: float, now: float | None = None) -> list[ParkOutcome]:
    """Park every idle dev session unused for longer than `over`; each refusal is said, none stops the rest."""
    from kugetsu_tui.opencode.activity import activities

    views = [view(s) for s in list_sessions(home) if s.kind == KIND_DEV and not s.corrupt]
    try:
        found = activities(home, views, load_agent_config(home))
    except KugetsuError:
        found = {}
    outcomes = []
    for shown, unused in idle_sessions(home, over, found, now):
        name = shown.session.name
        try:
            park(home, name, found.get(name), asked=name in found)
        except KugetsuError as exc:
            outcomes.append(ParkOutcome(name, unused, str(exc)))
        else:
            outcomes.append(ParkOutcome(name, unused, None))
    return outcomes


def apply_policy(home: Home) -> list[ParkOutcome]:
    """`[capacity] park_idle_after`, if set: park what has been idle longer (nothing when it is off)."""
    after = park_idle_after(home)
    if after is None:
        return []
    return [o for o in park_idle(home, after) if o.refused is None]


def describe(outcome: ParkOutcome) -> str:
    from kugetsu_tui.base.text import printable

    if outcome.refused is not None:
        return f"not parked {printable(outcome.name)}: {printable(outcome.refused)}"
    return f"parked {printable(outcome.name)} (idle {age(outcome.idle_for)})"


def resume_or_queue(home: Home, target: str, message: str | None) -> Resumed | Queued:
    """`continue --queue` on a parked session: resume it now if a slot is free, else queue its resume (the
    drain resumes it with the message when a slot frees)."""
    try:
        return resume_session(home, target, message or DEFAULT_CONTINUE_MESSAGE)
    except AtCapacityError:
        parked = find_parked(home, target)
        if parked is None or not parked.issue_ref:
            raise
        return enqueue(home, parked.issue_ref, message or DEFAULT_CONTINUE_MESSAGE)
