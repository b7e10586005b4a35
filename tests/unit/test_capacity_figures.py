"""The capacity figures, computed from a fixed ledger (times in seconds from T0) and fixed session files."""

from __future__ import annotations

import json

from kugetsu_tui.base.home import Home
from kugetsu_tui.capacity import figures
from kugetsu_tui.capacity.holders import ACTIVITY_OF_STATE, holders
from kugetsu_tui.capacity.report import build_report, start_of_today
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.files import read_session
from kugetsu_tui.sessions.states import State
from tests.helpers import write_session

T0 = 1_795_000_000.0
H = 3600.0


def line(t: float, event: str, session: str | None = None, active: int = 0, limit: int = 3, **fields) -> dict:
    return {"t": T0 + t, "event": event, "session": session, "active": active, "limit": limit, **fields}


# Two slots over four hours: a busy, then idle from 1 h; b admitted at 2 h, waits for input 2.5 h - 3 h, then
# released; one refusal at 3 h; one queue item waited 10 min, another 50 min.
LEDGER = [
    line(0, "admitted", "a", 1),
    line(1 * H, "activity_changed", "a", 1, activity="idle"),
    line(2 * H, "admitted", "b", 2),
    line(2.5 * H, "activity_changed", "b", 2, activity="needs_input"),
    line(3 * H, "refused_at_capacity", "c", 2, limit=2),
    line(3 * H, "activity_changed", "b", 2, limit=2, activity="busy"),
    line(3.2 * H, "dequeued", "d", 2, limit=2, reason="claimed", waited_s=600.0),
    line(3.4 * H, "dequeued", "e", 2, limit=2, reason="claimed", waited_s=3000.0),
    line(3.5 * H, "dequeued", "f", 2, limit=2, reason="removed"),
    line(3.5 * H, "released", "b", 1, limit=2),
]


def test_slot_hours_split_by_what_the_holder_did() -> None:
    u = figures.usage(LEDGER, T0, T0 + 4 * H)
    assert u.busy_s == 1 * H + 0.5 * H + 0.5 * H  # a's first hour, b's first half hour and its last
    assert u.waiting_s == 0.5 * H
    assert u.idle_s == 3 * H  # a, from 1 h to 4 h
    assert (u.refusals, u.admitted) == (1, 2)
    assert u.queue_waits == (600.0, 3000.0)  # a removed item waited for nothing
    assert (u.wait_p50, u.wait_p95) == (600.0, 3000.0)


def test_a_window_counts_only_what_falls_in_it_but_knows_who_held_before() -> None:
    u = figures.usage(LEDGER, T0 + 2 * H, T0 + 3 * H)
    assert (u.busy_s, u.waiting_s, u.idle_s) == (0.5 * H, 0.5 * H, 1 * H)
    assert (u.refusals, u.admitted) == (1, 1)
    assert u.queue_waits == ()
    assert u.wait_p50 is None


def test_a_holder_from_before_the_ledger_counts_from_its_first_line() -> None:
    u = figures.usage([line(0, "activity_changed", "old", 1, activity="idle")], T0 - H, T0 + H)
    assert (u.busy_s, u.idle_s) == (0.0, 1 * H)


def test_the_timeline_takes_the_most_slots_held_in_each_bucket() -> None:
    samples = figures.timeline(LEDGER, T0 + 4 * H, 4 * H, 8)  # half-hour buckets
    assert [s.active for s in samples] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert samples[-1].limit == 2
    before = figures.timeline(LEDGER, T0, 2 * H, 4)  # before the first line: not known
    assert [s.active for s in before] == [None, None, None, 1]


def test_nearest_rank_percentiles() -> None:
    values = [float(n) for n in range(1, 21)]
    assert figures.percentile(values, 50) == 10.0
    assert figures.percentile(values, 95) == 19.0
    assert figures.percentile([7.0], 95) == 7.0


def test_the_wait_histogram_is_cumulative() -> None:
    counts = dict(figures.wait_histogram([30.0, 600.0, 3000.0]))
    assert counts[60.0] == 1 and counts[900.0] == 2 and counts[3600.0] == 3 and counts[float("inf")] == 3


def test_a_holder_says_its_activity_since_when_and_the_cost_of_freeing_it(home: Home) -> None:
    write_session(home, "github.com-a-b-1", state="idle", finished_at="2026-12-02T10:00:00+00:00")
    write_session(home, "github.com-a-b-2", state="running")
    sessions = [read_session(home.session_path(n)) for n in ("github.com-a-b-1", "github.com-a-b-2")]
    cache = {
        s.name: {
            "issue_ref": s.issue_ref,
            "created_at": s.created_at,
            "work": {"state": state, "source": "forge", "detail": detail, "url": None, "checked_at": None},
        }
        for s, (state, detail) in zip(sessions, [("merged", "PR #5 merged"), ("open", "PR #6 open")], strict=True)
    }
    first, second = holders(sessions, {}, {}, work_cache=cache, uncommitted={"github.com-a-b-2": 3})
    assert (first.activity, first.use) == ("idle", "idle")
    assert first.activity_since == 1_796_205_600.0  # its agent's finished_at
    assert first.cost == "PR #5 merged" and first.free_to_free
    assert (second.activity, second.activity_since) == ("busy", None)
    assert second.cost == "PR #6 open · 3 uncommitted" and not second.free_to_free


def test_the_live_activity_wins_and_the_ledger_says_since_when(home: Home) -> None:
    write_session(home, "github.com-a-b-1", state="running")
    session = read_session(home.session_path("github.com-a-b-1"))
    recorded = {"github.com-a-b-1": ("needs_input", T0)}
    (holder,) = holders([session], recorded, {}, activities={"github.com-a-b-1": ActivityInfo(Activity.NEEDS_INPUT)})
    assert (holder.activity, holder.use, holder.activity_since) == ("needs_input", "waiting", T0)
    assert ACTIVITY_OF_STATE[State.RUNNING] == Activity.BUSY


def _report(home: Home, now: float, **kwargs):
    return build_report(home, now=now, since=now - 4 * H, idle_after=1800.0, queued=0, **kwargs)


def test_the_suggestion_names_idle_holders_whose_work_is_done(home: Home) -> None:
    for n in (1, 2):
        write_session(home, f"github.com-a-b-{n}", state="idle")
    sessions = [read_session(home.session_path(f"github.com-a-b-{n}")) for n in (1, 2)]
    cache = {
        s.name: {
            "issue_ref": s.issue_ref,
            "created_at": s.created_at,
            "work": {"state": "merged", "source": "git", "detail": "merged", "url": None, "checked_at": None},
        }
        for s in sessions
    }
    lines = [line(0, "activity_changed", s.name, 2, activity="idle") for s in sessions]
    report = _report(home, T0 + 3 * H, work_cache=cache, lines=lines)
    assert len(report.idle_over()) == 2
    assert report.suggestion is not None
    assert report.suggestion.startswith("2 slots held by sessions idle over 30m whose work is done")
    assert report.suggestion.endswith("D frees them")
    assert report.longest_idle is not None and report.longest_idle.idle_for(report.now) == 3 * H
    shown = report.as_json()
    assert shown["slot_hours"]["idle"] == 6.0 and shown["idle_over"] == 2
    json.dumps(shown)  # plain JSON


def test_no_suggestion_when_nothing_is_clear(home: Home) -> None:
    write_session(home, "github.com-a-b-1", state="running")
    report = _report(home, T0 + H, lines=[line(0, "admitted", "github.com-a-b-1", 1)])
    assert report.suggestion is None
    assert report.idle_over() == []


def test_today_starts_at_local_midnight() -> None:
    start = start_of_today(T0)
    assert 0 <= T0 - start < 86400
