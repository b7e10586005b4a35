"""The whole capacity picture at one moment, as the view, `stats` and `metrics` show it, with one suggestion
when the figures make one clear."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.text import age, counted
from kugetsu_tui.capacity.figures import (
    IDLE,
    Sample,
    Usage,
    last_activity,
    timeline,
    usage,
)
from kugetsu_tui.capacity.holders import Holder, holders
from kugetsu_tui.sessions.activities import ActivityInfo
from kugetsu_tui.sessions.files import list_sessions, session_paths
from kugetsu_tui.sessions.ledger import Event, read_events
from kugetsu_tui.sessions.limit import Limit, resolve_limit

HOUR, DAY = 3600.0, 86400.0
HOUR_BUCKETS, DAY_BUCKETS = 60, 48  # a minute each over the hour, half an hour each over the day


class Report(NamedTuple):
    now: float
    limit: Limit
    active: int
    queued: int
    parked: int
    idle_after: float
    usage: Usage  # over [since, now]: today by default
    last_hour: list[Sample]
    last_day: list[Sample]
    holders: list[Holder]

    def idle_over(self) -> list[Holder]:
        """Holders idle longer than `idle_after`, longest first: the footer's `· N idle`."""
        found = [h for h in self.holders if (h.idle_for(self.now) or 0) > self.idle_after]
        return sorted(found, key=lambda h: -(h.idle_for(self.now) or 0))

    @property
    def longest_idle(self) -> Holder | None:
        idle = [h for h in self.holders if h.idle_for(self.now) is not None]
        return max(idle, key=lambda h: h.idle_for(self.now) or 0, default=None)

    @property
    def suggestion(self) -> str | None:
        return suggest(self)

    def as_json(self) -> dict[str, Any]:
        u = self.usage
        longest = self.longest_idle
        return {
            "now": _iso(self.now),
            "since": _iso(u.since),
            "active": self.active,
            "limit": self.limit.value,
            "limit_error": self.limit.error,
            "queued": self.queued,
            "parked": self.parked,
            "idle_after_seconds": self.idle_after,
            "idle_over": len(self.idle_over()),
            "slot_hours": {
                "busy": round(u.busy_s / HOUR, 3),
                "waiting_for_input": round(u.waiting_s / HOUR, 3),
                "idle": round(u.idle_s / HOUR, 3),
            },
            "refusals_at_capacity": u.refusals,
            "admitted": u.admitted,
            "queue_wait_seconds": {"count": len(u.queue_waits), "p50": u.wait_p50, "p95": u.wait_p95},
            "longest_idle": None
            if longest is None
            else {"name": longest.name, "seconds": round(longest.idle_for(self.now) or 0, 1)},
            "holders": [h.as_json(self.now) for h in self.holders],
            "last_hour": [s.active for s in self.last_hour],
            "last_day": [s.active for s in self.last_day],
            "suggestion": self.suggestion,
        }


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def start_of_today(now: float) -> float:
    """Local midnight: "today" is the operator's day."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def suggest(report: Report) -> str | None:
    """One thing to do, when the figures say it plainly; None otherwise."""
    idle = report.idle_over()
    done = [h for h in idle if h.free_to_free]
    wait = age(report.idle_after)
    if done:
        return (
            f"{counted(len(done), 'slot')} held by sessions idle over {wait} whose work is done "
            f"({', '.join(h.issue_ref or h.name for h in done[:3])}{', …' if len(done) > 3 else ''}): D frees them"
        )
    if idle and report.queued:
        return (
            f"{counted(report.queued, 'item')} queued while {counted(len(idle), 'slot')} "
            f"{'is' if len(idle) == 1 else 'are'} held by sessions idle over {wait}: free the idle ones "
            "(their cost is in the list)"
        )
    full = report.limit.value is not None and report.active >= report.limit.value
    if full and report.usage.refusals and all(h.use != IDLE for h in report.holders):
        return (
            f"{counted(report.usage.refusals, 'start')} refused at capacity while every slot is at work: "
            "raise the limit (+) if the machine has room"
        )
    return None


def build_report(
    home: Home,
    *,
    now: float | None = None,
    since: float | None = None,
    idle_after: float,
    queued: int,
    activities: Mapping[str, ActivityInfo] | None = None,
    stats: Mapping[str, tuple[float, int]] | None = None,
    work_cache: Mapping[str, Mapping[str, Any]] | None = None,
    uncommitted: Mapping[str, int | None] | None = None,
    lines: list[dict[str, Any]] | None = None,
) -> Report:
    """Read the ledger and the session files (blocking: a worker thread in the console)."""
    now = time.time() if now is None else now
    lines = read_events(home) if lines is None else lines
    sessions = list_sessions(home)
    admitted: dict[str, float] = {}
    for line in lines:
        if line["event"] in (Event.ADMITTED, Event.RESUMED) and isinstance(line.get("session"), str):
            admitted[line["session"]] = float(line["t"])
    found = holders(
        sessions,
        last_activity(lines),
        admitted,
        activities=activities,
        stats=stats,
        work_cache=work_cache,
        uncommitted=uncommitted,
    )
    return Report(
        now=now,
        limit=resolve_limit(home),
        active=len(found),
        queued=queued,
        parked=len(session_paths(home.parked_dir)),  # the files, as for `active`: the ledger may miss a park
        idle_after=idle_after,
        usage=usage(lines, start_of_today(now) if since is None else since, now),
        last_hour=timeline(lines, now, HOUR, HOUR_BUCKETS),
        last_day=timeline(lines, now, DAY, DAY_BUCKETS),
        holders=found,
    )
