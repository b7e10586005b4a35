"""`metrics`: the capacity figures in Prometheus's text exposition format, for node_exporter's textfile
collector. prometheus-client writes the format (escaping, `_total`, histogram buckets), so it stays right
as the format evolves; it is imported only by this module, which only the `metrics` command imports.

Gauges are the moment's figures; the refusal counter and the queue-wait histogram count the whole ledger
(from its oldest line: a rotation shows as a counter reset, which Prometheus's rate() expects).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from kugetsu_tui.capacity.figures import usage, wait_histogram
from kugetsu_tui.capacity.report import Report
from kugetsu_tui.sessions.activities import Activity

PREFIX = "kugetsu_"


class _Figures(Collector):
    def __init__(self, report: Report, lines: list[dict[str, Any]]) -> None:
        self.report = report
        self.lines = lines

    def collect(self) -> Iterator[Metric]:
        r = self.report
        yield GaugeMetricFamily(
            f"{PREFIX}slots_active", "Dev sessions holding a slot (session files counted)", r.active
        )
        if r.limit.value is not None:
            yield GaugeMetricFamily(f"{PREFIX}slots_limit", "max_concurrent_agents as resolved now", r.limit.value)
        yield GaugeMetricFamily(f"{PREFIX}queue_waiting", "Queue items waiting for a slot", r.queued)
        yield GaugeMetricFamily(f"{PREFIX}sessions_parked", "Dev sessions parked: slot freed, work kept", r.parked)
        holders = GaugeMetricFamily(
            f"{PREFIX}slot_holders", "Slot holders by what their agent is doing", labels=["activity"]
        )
        for activity in Activity:
            holders.add_metric([str(activity)], sum(1 for h in r.holders if h.activity == activity))
        yield holders
        yield GaugeMetricFamily(
            f"{PREFIX}slot_holders_idle_over_threshold",
            "Slot holders idle longer than [capacity] idle_after",
            len(r.idle_over()),
        )
        whole = usage(self.lines, float("-inf"), r.now)
        yield CounterMetricFamily(
            f"{PREFIX}refusals_at_capacity", "Starts and restores refused at capacity (ledger)", whole.refusals
        )
        buckets = [(_bound(bound), count) for bound, count in wait_histogram(whole.queue_waits)]
        yield HistogramMetricFamily(
            f"{PREFIX}queue_wait_seconds",
            "How long each queue item started waited for its slot (ledger)",
            buckets=buckets,
            sum_value=sum(whole.queue_waits),
        )


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else f"{bound:g}"


def exposition(report: Report, lines: list[dict[str, Any]]) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(report, lines))
    return generate_latest(registry).decode("utf-8")
