"""Figures read from the slot ledger: active against the limit over time, and how the slots were used.

Plain functions of a list of ledger lines and a clock, so they are tested from a fixed ledger. The
ledger is replayed from its first line: a slot held before that line was written is seen from the
first line that names its session (an activity change), never before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from kugetsu_tui.sessions.activities import Activity
from kugetsu_tui.sessions.ledger import Event

#: How a slot is used, by its holder's activity: at work, waiting for the operator, or doing nothing.
BUSY, WAITING, IDLE = "busy", "waiting", "idle"
USE_OF: dict[str, str] = {
    Activity.BUSY: BUSY,
    Activity.RETRY: BUSY,
    Activity.STALLED: BUSY,  # its agent runs, silent: still the agent's slot
    Activity.NEEDS_INPUT: WAITING,
    Activity.DENIED: WAITING,
}
#: The queue-wait histogram's upper bounds, in seconds (1 min to 1 day); `metrics` exposes it.
#: The sparkline's eighths, lowest first.
SPARK = "▁▂▃▄▅▆▇█"
WAIT_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0)


def use_of(activity: object) -> str:
    return USE_OF.get(str(activity), IDLE)


class Sample(NamedTuple):
    """One bucket of the timeline: the most slots held in it, and the limit at its end (None: not known)."""

    active: int | None
    limit: int | None


class Usage(NamedTuple):
    """How the slots were used over a window [since, until]."""

    since: float
    until: float
    busy_s: float
    waiting_s: float
    idle_s: float
    refusals: int
    admitted: int
    queue_waits: tuple[float, ...]  # seconds each item claimed in the window had waited, sorted

    @property
    def wait_p50(self) -> float | None:
        return percentile(self.queue_waits, 50)

    @property
    def wait_p95(self) -> float | None:
        return percentile(self.queue_waits, 95)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q% of the values at or below it."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _time(line: dict[str, Any]) -> float:
    return float(line["t"])


def _sorted(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    # Stable: lines written under the lock keep their order even when two share a millisecond.
    return sorted(lines, key=_time)


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def timeline(lines: Iterable[dict[str, Any]], now: float, span: float, buckets: int) -> list[Sample]:
    """`buckets` samples covering [now - span, now], each [start, end) (the last one up to now included):
    the most slots held in each (for a sparkline)."""
    width = span / buckets
    start = now - span
    samples: list[Sample] = []
    active: int | None = None
    limit: int | None = None
    ordered = _sorted(lines)
    index = 0
    for n in range(buckets):
        end = start + (n + 1) * width
        last = n == buckets - 1
        while index < len(ordered) and _time(ordered[index]) < start + n * width:  # before the bucket
            active, limit = _number(ordered[index].get("active")), _number(ordered[index].get("limit"))
            index += 1
        most = active
        while index < len(ordered) and (_time(ordered[index]) < end or last and _time(ordered[index]) <= end):
            active, limit = _number(ordered[index].get("active")), _number(ordered[index].get("limit"))
            if active is not None:
                most = active if most is None else max(most, active)
            index += 1
        samples.append(Sample(most, limit))
    return samples


class _Holding(NamedTuple):
    use: str
    since: float


def usage(lines: Iterable[dict[str, Any]], since: float, until: float) -> Usage:
    """Slot-seconds busy, waiting and idle, refusals, admissions and queue waits in [since, until]."""
    held: dict[str, _Holding] = {}
    seconds = {BUSY: 0.0, WAITING: 0.0, IDLE: 0.0}
    refusals = admitted = 0
    waits: list[float] = []
    last = since

    def account(upto: float) -> None:
        nonlocal last
        upto = min(upto, until)
        if upto > last:
            for holding in held.values():
                seconds[holding.use] += upto - last
            last = upto

    for line in _sorted(lines):
        t = _time(line)
        if t > until:
            break
        account(t)
        event, session = line["event"], line.get("session")
        inside = t >= since
        if event == Event.REFUSED_AT_CAPACITY and inside:
            refusals += 1
        elif event == Event.DEQUEUED and inside and line.get("reason") == "claimed":
            waited = line.get("waited_s")
            if isinstance(waited, int | float) and not isinstance(waited, bool) and waited >= 0:
                waits.append(float(waited))
        if not isinstance(session, str):
            continue
        if event == Event.ADMITTED:
            admitted += inside
            held[session] = _Holding(BUSY, t)  # starting: the agent is being launched
        elif event == Event.RESUMED:
            held[session] = _Holding(IDLE, t)
        elif event in (Event.RELEASED, Event.PARKED):
            held.pop(session, None)
        elif event == Event.ACTIVITY_CHANGED:
            held[session] = _Holding(use_of(line.get("activity")), t)
    account(until)
    return Usage(since, until, seconds[BUSY], seconds[WAITING], seconds[IDLE], refusals, admitted, tuple(sorted(waits)))


def last_activity(lines: Iterable[dict[str, Any]]) -> dict[str, tuple[str, float]]:
    """Each session's last recorded activity and since when (from its admission: `busy`)."""
    found: dict[str, tuple[str, float]] = {}
    for line in _sorted(lines):
        session = line.get("session")
        if not isinstance(session, str):
            continue
        if line["event"] == Event.ACTIVITY_CHANGED and isinstance(line.get("activity"), str):
            previous = found.get(session)
            if previous is None or previous[0] != line["activity"]:  # a repeat keeps the first time
                found[session] = (line["activity"], _time(line))
        elif line["event"] in (Event.ADMITTED, Event.RESUMED):
            found[session] = (Activity.BUSY if line["event"] == Event.ADMITTED else Activity.IDLE, _time(line))
        elif line["event"] in (Event.RELEASED, Event.PARKED):
            found.pop(session, None)
    return found


def wait_histogram(waits: Sequence[float]) -> list[tuple[float, int]]:
    """Cumulative counts at each WAIT_BUCKETS bound (then +inf), as Prometheus histograms count."""
    return [(bound, sum(1 for w in waits if w <= bound)) for bound in (*WAIT_BUCKETS, math.inf)]


def sparkline(samples: list[Sample], top: int | None) -> str:
    """One character per sample, scaled from 0 to the limit (or the highest sample), blank where nothing is
    known: the console's view and `stats` both draw this (Textual's Sparkline scales between the data's own
    lowest and highest value, so a steady 5 of 5 and a steady 1 of 5 would draw the same bar)."""
    highest = max([top or 0, *(s.active or 0 for s in samples)]) or 1
    return "".join(" " if s.active is None else SPARK[min(7, round(7 * s.active / highest))] for s in samples)
