"""`stats` and `metrics` against a home with real starts, a refusal and a queued start, and a fixed ledger.

The metrics output is read back with prometheus-client's own parser: what a textfile collector reads.
"""

from __future__ import annotations

import json
import time

from prometheus_client.parser import text_string_to_metric_families

from kugetsu_tui.base.home import Home
from kugetsu_tui.capacity.figures import Sample, sparkline
from kugetsu_tui.cli.capacity import parse_since
from tests.helpers import assert_one_line_error, run_cli, wait_for, write_session

ENV = {"MAX_CONCURRENT_AGENTS": "2"}


def busy_home(home: Home) -> None:
    """Two slots taken, one start refused and queued, one destroyed so the queued one starts."""
    for n in (1, 2):
        assert run_cli(home, "start", f"shoko/kugetsu#{n}", "work", env=ENV).returncode == 0
    assert run_cli(home, "start", "shoko/kugetsu#3", "work", env=ENV).returncode == 2
    assert run_cli(home, "start", "shoko/kugetsu#4", "later", "--queue", env=ENV).returncode == 0
    assert run_cli(home, "destroy", "shoko/kugetsu#1", "-y", env=ENV).returncode == 0
    assert run_cli(home, "queue", "drain", env=ENV).returncode == 0


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_parse_as_prometheus_text(home: Home) -> None:
    busy_home(home)
    result = run_cli(home, "metrics", env=ENV)
    assert result.returncode == 0, result.stderr
    found = families(result.stdout)
    assert found["kugetsu_slots_active"].samples[0].value == 2
    assert found["kugetsu_slots_limit"].samples[0].value == 2
    assert found["kugetsu_queue_waiting"].samples[0].value == 0
    assert found["kugetsu_sessions_parked"].samples[0].value == 0
    holders = {s.labels["activity"]: s.value for s in found["kugetsu_slot_holders"].samples}
    assert sum(holders.values()) == 2 and set(holders) >= {"busy", "idle", "needs_input"}
    refusals = found["kugetsu_refusals_at_capacity"]
    assert refusals.type == "counter"
    assert [s.value for s in refusals.samples if s.name.endswith("_total")] == [2]  # #3, and #4 before it queued
    waits = found["kugetsu_queue_wait_seconds"]
    assert waits.type == "histogram"
    counts = {s.labels.get("le"): s.value for s in waits.samples if s.name.endswith("_bucket")}
    assert counts["+Inf"] == 1
    assert [s.value for s in waits.samples if s.name.endswith("_count")] == [1]


def test_metrics_of_an_empty_home_still_parse(home: Home) -> None:
    result = run_cli(home, "metrics")
    assert result.returncode == 0, result.stderr
    found = families(result.stdout)
    assert found["kugetsu_slots_active"].samples[0].value == 0
    assert found["kugetsu_queue_wait_seconds"].samples  # buckets at 0, never missing


def test_stats_json_has_the_figures_of_the_view(home: Home) -> None:
    busy_home(home)
    wait_for(lambda: json.loads(run_cli(home, "stats", "--json", env=ENV).stdout)["holders"][0]["activity"] == "idle")
    data = json.loads(run_cli(home, "stats", "--json", env=ENV).stdout)
    assert (data["active"], data["limit"], data["queued"]) == (2, 2, 0)
    assert data["refusals_at_capacity"] == 2
    assert data["queue_wait_seconds"]["count"] == 1 and data["queue_wait_seconds"]["p50"] >= 0
    assert [h["name"] for h in data["holders"]] == ["github.com-shoko-kugetsu-2", "github.com-shoko-kugetsu-4"]
    assert set(data["slot_hours"]) == {"busy", "waiting_for_input", "idle"}
    assert len(data["last_hour"]) == 60 and data["last_hour"][-1] == 2


def test_stats_text_says_it_in_lines(home: Home) -> None:
    busy_home(home)
    result = run_cli(home, "stats", "--since", "24h", env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2/2 active · 0 queued · 0 parked\n")
    assert "last 24h:" in result.stdout and "refusals at capacity: 2" in result.stdout
    assert "github.com/shoko/kugetsu#4" in result.stdout


def test_stats_counts_a_holder_idle_over_idle_after(home: Home) -> None:
    home.config_toml.write_text(home.config_toml.read_text() + "\n[capacity]\nidle_after = 60\n")
    write_session(home, "github.com-shoko-kugetsu-7", state="idle", finished_at="2020-01-01T00:00:00+00:00")
    result = run_cli(home, "stats")
    assert "· 1 idle over 1m" in result.stdout.splitlines()[0], result.stdout


def test_a_bad_window_or_setting_is_one_line(home: Home) -> None:
    assert_one_line_error(run_cli(home, "stats", "--since", "yesterday"), 1, "--since 'yesterday' is not a duration")
    home.config_toml.write_text(home.config_toml.read_text() + "\n[capacity]\nidle_after = -1\n")
    assert_one_line_error(run_cli(home, "stats"), 1, "idle_after must be a duration over zero")


def test_since_and_the_sparkline() -> None:
    now = time.time()
    assert parse_since("today", now) is None
    assert parse_since("90m", now) == now - 5400
    assert sparkline([Sample(None, 4), Sample(0, 4), Sample(2, 4), Sample(4, 4)], 4) == " ▁▅█"
