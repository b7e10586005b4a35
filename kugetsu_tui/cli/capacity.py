"""The capacity commands: `stats` (how the cap was used: the capacity view's figures) and `metrics` (the same
as Prometheus text exposition, for node_exporter's textfile collector)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from kugetsu_tui.base.errors import ExitCode, KugetsuError
from kugetsu_tui.base.text import age, megabytes, printable, table_lines
from kugetsu_tui.capacity.figures import sparkline

if TYPE_CHECKING:
    from kugetsu_tui.base.home import Home
    from kugetsu_tui.capacity.report import Report

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: how long `stats` samples the agents' CPU (only when some agent runs)
CPU_SAMPLE_S = 0.25


def add_parsers(sub: Any) -> None:
    stats = sub.add_parser("stats", help="how the cap was used: slot-hours, refusals, queue waits, who holds each slot")
    stats.set_defaults(run=cmd_stats)
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument(
        "--since",
        default="today",
        metavar="DURATION",
        help="the window of the figures: `today` (from local midnight, the default) or a duration: 30m, 24h, 7d",
    )
    metrics = sub.add_parser("metrics", help="the capacity figures in Prometheus text format (textfile collector)")
    metrics.set_defaults(run=cmd_metrics)


def parse_since(text: str, now: float) -> float | None:
    """The start of the window (None: today, from local midnight)."""
    if text == "today":
        return None
    match = re.fullmatch(r"([0-9]{1,6})([smhd])", text)
    if not match or int(match.group(1)) == 0:
        raise KugetsuError(
            f"--since {text!r} is not a duration: give `today` or a number and a unit, e.g. 30m, 24h, 7d"
        )
    return now - int(match.group(1)) * _UNITS[match.group(2)]


def _report(home: Home, since: float | None, now: float, *, processes: bool) -> tuple[Report, list[dict[str, Any]]]:
    from kugetsu_tui.capacity.holders import uncommitted_changes
    from kugetsu_tui.capacity.report import build_report
    from kugetsu_tui.queue.items import waiting_count
    from kugetsu_tui.sessions.capacity_settings import idle_after
    from kugetsu_tui.sessions.files import list_sessions
    from kugetsu_tui.sessions.ledger import read_events
    from kugetsu_tui.work.status import read_work

    lines = read_events(home)
    sessions = list_sessions(home)
    report = build_report(
        home,
        now=now,
        since=since,
        idle_after=idle_after(home),
        queued=waiting_count(home),
        stats=_sample_agents(sessions) if processes else None,
        work_cache=read_work(home),
        uncommitted=uncommitted_changes(sessions) if processes else None,
        lines=lines,
    )
    return report, lines


def _sample_agents(sessions: list[Any]) -> dict[str, tuple[float, int]]:
    """CPU % and memory of each live agent tree: two samples CPU_SAMPLE_S apart (only if an agent runs)."""
    from kugetsu_tui.base.process import ProcessSampler

    watched = {
        s.name: (s.pid, s.data.get("pid_started") if isinstance(s.data.get("pid_started"), int | float) else None)
        for s in sessions
        if s.pid and not s.corrupt
    }
    sampler = ProcessSampler()
    if not sampler.sample(watched):
        return {}
    time.sleep(CPU_SAMPLE_S)
    return sampler.sample(watched)


def cmd_stats(home: Home, args: argparse.Namespace) -> int:
    now = time.time()
    report, _ = _report(home, parse_since(args.since, now), now, processes=True)
    if args.json:
        json.dump(report.as_json(), sys.stdout, indent=2)
        print()
        return ExitCode.OK
    for line in stats_lines(report, args.since):
        print(line)
    return ExitCode.OK


def cmd_metrics(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.capacity.metrics import exposition

    now = time.time()
    report, lines = _report(home, None, now, processes=False)
    sys.stdout.write(exposition(report, lines))
    return ExitCode.OK


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}"


def stats_lines(report: Report, since: str) -> list[str]:
    u = report.usage
    limit = "?" if report.limit.value is None else str(report.limit.value)
    idle = report.idle_over()
    head = f"{report.active}/{limit} active · {report.queued} queued · {report.parked} parked"
    if idle:
        head += f" · {len(idle)} idle over {age(report.idle_after)}"
    waits = (
        f"p50 {age(u.wait_p50)} p95 {age(u.wait_p95)} ({len(u.queue_waits)} started from the queue)"
        if u.queue_waits
        else "none started from the queue"
    )
    longest = report.longest_idle
    lines = [
        head,
        f"last hour  {sparkline(report.last_hour, report.limit.value)}",
        f"last 24 h  {sparkline(report.last_day, report.limit.value)}",
        f"{'today' if since == 'today' else f'last {since}'}:",
        f"  slot-hours: busy {hours(u.busy_s)}, waiting for input {hours(u.waiting_s)}, idle {hours(u.idle_s)}",
        f"  refusals at capacity: {u.refusals}",
        f"  queue wait: {waits}",
        "  longest idle holder: "
        + (
            "none"
            if longest is None
            else f"{printable(longest.issue_ref or longest.name)} ({age(longest.idle_for(report.now))})"
        ),
    ]
    if report.holders:
        rows = [("HOLDER", "ACTIVITY", "FOR", "HELD", "CPU%", "MEM", "FREEING IT COSTS")]
        for h in report.holders:
            since_ = None if h.activity_since is None else report.now - h.activity_since
            rows.append(
                (
                    printable(h.issue_ref or h.name),
                    h.activity,
                    age(since_) or "?",
                    age(report.now - h.held_since),
                    "-" if h.cpu is None else f"{h.cpu:.0f}",
                    megabytes(h.memory) or "-",
                    printable(h.cost),
                )
            )
        lines += ["", *table_lines(rows)]
    if report.suggestion:
        lines += ["", f"suggestion: {printable(report.suggestion)}"]
    return lines
