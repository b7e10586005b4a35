"""The capacity view (`C`, or a click on the footer's figure): a thin screen over `capacity.report`.

A thread worker builds the report (the ledger, the files, git for uncommitted changes) from what the
console already knows (activities, process samples, work status), every REFRESH seconds; the screen only
draws it. Text from session files is shown literally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.text import age, megabytes, printable
from kugetsu_tui.capacity.figures import BUSY, IDLE, WAITING, sparkline
from kugetsu_tui.capacity.holders import uncommitted_changes
from kugetsu_tui.capacity.report import Report, build_report
from kugetsu_tui.cluster.settings import load_cluster_settings
from kugetsu_tui.cluster.slots import ClusterFigure, cluster_figure
from kugetsu_tui.console.model import ConsoleModel
from kugetsu_tui.console.rows import ACTIVITY_STYLES
from kugetsu_tui.console.worker_errors import ReportsWorkerErrors
from kugetsu_tui.sessions.files import list_sessions

REFRESH = 10.0  # seconds between two reports while the view is open
USE_STYLES = {BUSY: "green", WAITING: "bold yellow", IDLE: "dim"}


def head_text(report: Report) -> Text:
    limit = "?" if report.limit.value is None else str(report.limit.value)
    text = Text()
    text.append(f"{report.active}/{limit} active", style="bold")
    text.append(f" · {report.queued} queued · {report.parked} parked")
    idle = report.idle_over()
    if idle:
        text.append(f" · {len(idle)} idle over {age(report.idle_after)}", style="bold yellow")
    return text


def timeline_text(report: Report) -> Text:
    top = report.limit.value
    text = Text()
    for label, samples, span in (("last hour", report.last_hour, "1 min"), ("last 24 h", report.last_day, "30 min")):
        most = max((s.active for s in samples if s.active is not None), default=None)
        text.append(f"{label}", style="bold")
        text.append(f" (a column is {span}; at most {'?' if most is None else most} of {top or '?'})\n", style="dim")
        text.append(sparkline(samples, top), style="cyan")  # 60 columns: fits an 80-column terminal
        text.append("\n")
    text.rstrip()
    return text


def holders_table(report: Report) -> Table | Text:
    if not report.holders:
        return Text("No dev session holds a slot.", style="dim")
    table = Table(show_edge=False, box=None, padding=(0, 1, 0, 0), expand=True)
    table.add_column("Holder", no_wrap=True, max_width=26, overflow="ellipsis")
    table.add_column("Activity", no_wrap=True)
    for name in ("For", "Held", "CPU%", "Mem"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Freeing it costs", min_width=14, ratio=1)
    idle_first = {h.name for h in report.idle_over()}
    ordered = sorted(report.holders, key=lambda h: (h.name not in idle_first, -(h.idle_for(report.now) or 0)))
    for h in ordered:
        since = None if h.activity_since is None else report.now - h.activity_since
        table.add_row(
            Text(printable(h.issue_ref or h.name), style="bold" if h.name in idle_first else ""),
            Text(printable(h.activity), style=ACTIVITY_STYLES.get(h.activity, USE_STYLES.get(h.use, ""))),  # type: ignore[call-overload]
            Text(age(since) or "?"),
            Text(age(report.now - h.held_since)),
            Text("-" if h.cpu is None else f"{h.cpu:.0f}"),
            Text(megabytes(h.memory) or "-"),
            Text(printable(h.cost), style="green" if h.free_to_free else ""),
        )
    return table


def other_hosts_text(cluster: ClusterFigure | str) -> Text:
    """With [cluster] set: every other host's slot holders, read only (or why the cluster cannot be read)."""
    if isinstance(cluster, str):
        return Text(printable(cluster), style="bold red")
    others = [host for host in cluster.hosts if host.host != cluster.this_host]
    text = Text()
    text.append(f"cluster {cluster.active}/{'?' if cluster.cap is None else cluster.cap}", style="bold")
    text.append(f" on {cluster.live_hosts} live host{'s' if cluster.live_hosts != 1 else ''}")
    if not others:
        text.append("\nno other host has registered")
    for host in others:
        text.append(f"\n{printable(host.host)}", style="bold" if host.live else "dim")
        text.append(" " + ("" if host.live else "(lease expired: its slots are not counted) "), style="dim")
        text.append(", ".join(printable(name) for name in host.slots) or "holds no slot")
    return text


def read_cluster(home: Home) -> ClusterFigure | str | None:
    """The cluster as it stands, None without [cluster], or one line on why it cannot be read (blocking)."""
    try:
        settings = load_cluster_settings(home)
        return None if settings is None else cluster_figure(home, settings)
    except KugetsuError as exc:
        return f"cluster: {exc}"


def today_text(report: Report) -> Text:
    u = report.usage
    text = Text()
    text.append("slot-hours ", style="bold")
    for label, seconds, use in (("busy", u.busy_s, BUSY), ("waiting for input", u.waiting_s, WAITING)):
        text.append(f"{label} {seconds / 3600:.1f}", style=USE_STYLES[use])
        text.append(" · ")
    text.append(f"idle {u.idle_s / 3600:.1f}\n", style=USE_STYLES[IDLE])
    text.append("refusals at capacity ", style="bold")
    text.append(f"{u.refusals}\n")
    text.append("queue wait ", style="bold")
    if u.queue_waits:
        text.append(f"p50 {age(u.wait_p50)} · p95 {age(u.wait_p95)} ({len(u.queue_waits)} started from the queue)\n")
    else:
        text.append("none started from the queue\n")
    text.append("longest idle holder ", style="bold")
    longest = report.longest_idle
    if longest is None:
        text.append("none")
    else:
        text.append(f"{printable(longest.issue_ref or longest.name)} ({age(longest.idle_for(report.now))})")
    return text


class CapacityScreen(ReportsWorkerErrors, ModalScreen[None]):
    """Who holds each slot and for how long, how the cap was used today; Escape, q or C closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,C", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    CapacityScreen { align: center middle; }
    CapacityScreen > VerticalScroll { width: 95%; max-width: 140; height: 90%; border: round $accent;
                                      background: $surface; padding: 0 1; }
    CapacityScreen .title { text-style: bold; color: $accent; margin-top: 1; }
    CapacityScreen .cluster { display: none; }
    CapacityScreen.clustered .cluster { display: block; }
    CapacityScreen #capacity-suggestion { margin-top: 1; color: $warning; text-style: bold; }
    """

    def __init__(self, home: Home, model: ConsoleModel, clock: Callable[[], float]) -> None:
        super().__init__()
        self.home = home
        self.model = model
        self.clock = clock
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("Reading the slot ledger…", style="dim"), id="capacity-head")
            yield Static("Active against the limit", classes="title")
            yield Static(id="capacity-timeline")
            yield Static("Slot holders", classes="title")
            yield Static(id="capacity-holders")
            yield Static("Other hosts", classes="title cluster")
            yield Static(id="capacity-cluster", classes="cluster")
            yield Static("Today", classes="title")
            yield Static(id="capacity-today")
            yield Static(id="capacity-suggestion")
            yield Static(Text("Escape, q or C closes this view.", style="dim"))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "Capacity"
        self.refresh_report()
        self.set_interval(REFRESH, self.refresh_report)

    def refresh_report(self) -> None:
        """Copies of what the console knows, taken on the loop; the report is built in a thread."""
        self.build(
            dict(self.model.activity), dict(self.model.stats), self.model.work_cache, self.model.queued, self.clock()
        )

    @work(thread=True, exclusive=True, group="capacity-view", exit_on_error=False)
    def build(
        self,
        activities: dict[str, Any],
        stats: dict[str, tuple[float, int]],
        work_cache: Any,
        queued: int,
        now: float,
    ) -> None:
        sessions = list_sessions(self.home)
        report = build_report(
            self.home,
            now=now,
            idle_after=self.model.idle_after,
            queued=queued,
            activities=activities,
            stats=stats,
            work_cache=work_cache,
            uncommitted=uncommitted_changes(sessions),
        )
        self.app.call_from_thread(self.show, report, read_cluster(self.home))

    def show(self, report: Report, cluster: ClusterFigure | str | None = None) -> None:
        self.report = report
        self.set_class(cluster is not None, "clustered")
        if cluster is not None:
            self.query_one("#capacity-cluster", Static).update(other_hosts_text(cluster))
        self.query_one("#capacity-head", Static).update(head_text(report))
        self.query_one("#capacity-timeline", Static).update(timeline_text(report))
        self.query_one("#capacity-holders", Static).update(holders_table(report))
        self.query_one("#capacity-today", Static).update(today_text(report))
        suggestion = report.suggestion
        self.query_one("#capacity-suggestion", Static).update(
            Text(f"Suggestion: {printable(suggestion)}") if suggestion else Text("")
        )
