"""Draining: failed starts and the 3-attempt rule, drainers killed mid-claim, stale claims, threads."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest

from kugetsu_tui.base.process import start_time
from kugetsu_tui.queue.drain import drain_once
from tests.helpers import (
    PY,
    cli_env,
    demo_agent_config,
    demo_store,
    dev_files,
    read_index,
    run_cli,
    session_data,
    store_ids,
    wait_state,
)
from tests.unit.queue_fixtures import item_data, pending, queue_json, write_item

NAME = "github.com-shoko-kugetsu-1"


# --- failed starts ---------------------------------------------------------------------------------


def test_a_failing_agent_costs_an_attempt_per_drain_then_the_item_is_error_with_its_last_words(home):
    demo_agent_config(home, fail=True)
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00"))
    base_only = store_ids(demo_store(home))

    for attempt in (1, 2):
        result = run_cli(home, "queue", "drain")
        assert result.returncode == 0, result.stderr
        assert f"retry q_1 github.com/shoko/kugetsu#1: attempt {attempt}/3 failed, back in the queue" in result.stdout
        (listed,) = queue_json(home)["items"]
        assert (listed["attempts"], listed["error"]) == (attempt, None) and "simulated" in listed["last_error"]
        data = item_data(home, "q_1")
        assert (data["state"], data["attempts"]) == ("pending", attempt)
        assert "simulated failure (--fail)" in data["last_error"] and data["error"] is None
        assert "claimed_by" not in data and "run_id" not in data
        assert dev_files(home) == [] and read_index(home)["issues"] == {}  # the failed start was rolled back

    result = run_cli(home, "queue", "drain")
    assert "gave up q_1 github.com/shoko/kugetsu#1: after 3 attempts: Cannot start" in result.stdout
    data = item_data(home, "q_1")
    assert (data["state"], data["attempts"]) == ("error", 3)
    assert "the agent failed: Error: simulated failure (--fail)" in data["error"]

    before = item_data(home, "q_1")
    assert run_cli(home, "queue", "drain").stdout == "0 started, 0 still queued\n"
    assert item_data(home, "q_1") == before
    assert store_ids(demo_store(home)) == base_only and dev_files(home) == []


def test_one_pass_tries_each_item_once_so_a_failing_head_does_not_hold_up_the_rest(home):
    demo_agent_config(home, fail=True)
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00"))
    write_item(home, pending(2, "2026-03-29T18:00:01+02:00"))
    results = drain_once(home)
    assert [(r.item_id, r.outcome) for r in results] == [("q_1", "retry"), ("q_2", "retry")]
    assert [item_data(home, i)["attempts"] for i in ("q_1", "q_2")] == [1, 1]


# --- a drainer killed mid-way -------------------------------------------------------------------------

# A drainer that dies by SIGKILL at one point of a start: after claiming the item (under the lock, before
# the placeholder), after writing the placeholder (still under the lock), or after launching the agent.
KILLED_DRAINER = """
import os, signal, sys
from kugetsu_tui.lifecycle import start as actions
from kugetsu_tui.sessions import index
from kugetsu_tui.base.home import Home
from kugetsu_tui.queue import drain

def die():
    os.kill(os.getpid(), signal.SIGKILL)

point = sys.argv[1]
if point == "claim":
    real_claim = drain.write_claim
    drain.write_claim = lambda home, item, run_id: (real_claim(home, item, run_id), die())
elif point == "placeholder":
    real_add = index.add_entry
    index.add_entry = lambda home, session: (real_add(home, session), die())
else:
    actions._await_launch = lambda *args: die()
drain.drain_once(Home.locate())
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("point", ["claim", "placeholder", "launch"])
def test_a_drainer_killed_mid_start_leaves_no_item_stuck_no_double_start_and_no_overshoot(home, point):
    demo_agent_config(home, seconds=0)
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00"))
    base_only = store_ids(demo_store(home))
    env = {"MAX_CONCURRENT_AGENTS": "1"}
    killed = subprocess.run(
        [PY, "-c", KILLED_DRAINER, point],
        check=False,
        env=cli_env(home, env),
        cwd=home.root.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    claim = item_data(home, "q_1")
    assert claim["state"] == "starting" and claim["claimed_by"]["pid"] > 0
    assert dev_files(home) == ([] if point == "claim" else [f"{NAME}.json"])

    result = run_cli(home, "queue", "drain", env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    data = item_data(home, "q_1")
    assert data["state"] == "completed" and data["session"] == NAME
    assert dev_files(home) == [f"{NAME}.json"]  # cap 1: the dead drainer's slot was not added to
    session = wait_state(home, NAME, "idle")
    if point == "launch":
        # Its agent was already running: marked started, never launched twice.
        assert (
            f"started q_1 github.com/shoko/kugetsu#1: as {NAME} (its drainer stopped after launching it)"
            in result.stdout
        )
        assert session["run_id"] == claim["run_id"]
    else:
        assert (
            "taken back q_1" in result.stdout and f"started q_1 github.com/shoko/kugetsu#1: as {NAME}" in result.stdout
        )
        assert session["run_id"] != claim["run_id"] and data["run_id"] == session["run_id"]
    assert len(store_ids(demo_store(home)) - base_only) == 1  # exactly one agent ever ran for the item
    assert read_index(home)["issues"] == {"github.com/shoko/kugetsu#1": f"{NAME}.json"}


def _claimed(home, *, age: timedelta, pid: int):
    stamp = (datetime.now(UTC) - age).astimezone().isoformat(timespec="microseconds")
    write_item(
        home,
        pending(
            1,
            "2026-03-29T18:00:00+02:00",
            state="starting",
            run_id="r" * 32,
            claimed_at=stamp,
            claimed_by={"pid": pid, "started": start_time(pid)},
        ),
    )


def test_a_fresh_claim_of_a_live_drainer_is_left_alone(home):
    _claimed(home, age=timedelta(seconds=1), pid=os.getpid())
    before = item_data(home, "q_1")
    assert drain_once(home) == []
    assert item_data(home, "q_1") == before and dev_files(home) == []


def test_a_claim_older_than_the_start_timeout_is_taken_back_even_if_its_drainer_still_runs(home):
    demo_agent_config(home, start_wait=5)  # timeout: 5 s + the grace of 30 s
    _claimed(home, age=timedelta(seconds=36), pid=os.getpid())
    outcomes = [r.outcome for r in drain_once(home)]
    assert outcomes == ["taken back", "started"]
    assert item_data(home, "q_1")["state"] == "completed"


def test_a_late_supervisor_of_a_taken_back_placeholder_starts_nothing(home):
    """The taken-back placeholder is gone: a supervisor launched for it finds no file and runs no agent."""
    from kugetsu_tui.lifecycle.supervisor import supervise

    _claimed(home, age=timedelta(seconds=1), pid=2**22 + 7)  # a pid that is not running: the drainer died
    item = item_data(home, "q_1")
    placeholder = {
        "type": "forked",
        "issue_ref": "github.com/shoko/kugetsu#1",
        "state": "starting",
        "run_id": item["run_id"],
        "opencode_session_id": None,
    }
    demo_agent_config(home, fail=True)  # the retry after the take back fails: the slot stays free
    home.session_path(NAME).write_text(json.dumps(placeholder))
    outcomes = [r.outcome for r in drain_once(home)]
    assert outcomes == ["taken back", "retry"]
    marker = home.root / "agent-ran"
    assert supervise(home, NAME, item["run_id"], [PY, "-c", f"open({str(marker)!r}, 'w')"], str(home.root)) == 1
    assert not marker.exists() and session_data(home, NAME) is None


# --- several drainers in one process (a console's thread worker next to the CLI) -------------------------


@pytest.mark.timeout(120)
def test_drains_from_several_threads_start_each_item_once_and_stop_at_the_cap(home):
    for number in range(1, 7):
        write_item(home, pending(number, f"2026-03-29T18:00:0{number}+02:00"))
    results = []
    threads = [threading.Thread(target=lambda: results.extend(drain_once(home))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=100)
    started = sorted(r.item_id for r in results if r.outcome == "started")
    assert started == ["q_1", "q_2", "q_3"]
    assert dev_files(home) == [f"github.com-shoko-kugetsu-{n}.json" for n in (1, 2, 3)]
    assert [item_data(home, f"q_{n}")["state"] for n in range(1, 7)] == ["completed"] * 3 + ["pending"] * 3
