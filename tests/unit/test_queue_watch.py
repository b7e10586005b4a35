"""`queue drain --watch`: drains when a slot frees or an item arrives, and stops cleanly on a signal."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from kugetsu_tui.base.process import start_time
from kugetsu_tui.queue.claims import CLAIM_GRACE_S
from tests.helpers import PY, demo_agent_config, dev_files, run_cli, wait_for, wait_state, write_session
from tests.unit.queue_fixtures import Watcher, item_data, pending, write_item

NAME = "github.com-shoko-kugetsu-{}"


@pytest.fixture
def stack():
    """Watchers entered here are killed at the end of the test if it failed before stopping them."""
    with contextlib.ExitStack() as exits:
        yield exits


@pytest.mark.timeout(120)
def test_the_watcher_starts_an_item_when_a_destroy_frees_a_slot(home, tmp_path, stack):
    write_session(home, NAME.format(1), issue_ref="github.com/shoko/kugetsu#1")
    write_item(home, pending(2, "2026-03-29T18:00:00+02:00"))
    watcher = stack.enter_context(Watcher(home, tmp_path, {"MAX_CONCURRENT_AGENTS": "1"}))
    watcher.wait_ready()
    assert item_data(home, "q_2")["state"] == "pending"  # the first pass found no slot

    destroyed = run_cli(home, "destroy", "-y", "--force", NAME.format(1))
    assert destroyed.returncode == 0, destroyed.stderr
    wait_for(
        lambda: "started q_2 github.com/shoko/kugetsu#2" in watcher.output(),
        timeout=30,
        message="the watcher to report q_2 started",
    )
    assert item_data(home, "q_2")["state"] == "completed"
    assert dev_files(home) == [f"{NAME.format(2)}.json"]
    assert watcher.stop() == 0


@pytest.mark.timeout(120)
def test_the_watcher_drains_when_an_item_is_added_not_only_when_sessions_change(home, tmp_path, stack):
    write_session(home, NAME.format(1), issue_ref="github.com/shoko/kugetsu#1")
    write_item(home, pending(2, "2026-03-29T18:00:00+02:00"))
    assert run_cli(home, "limit", "1").returncode == 0
    watcher = stack.enter_context(Watcher(home, tmp_path, {}))  # the limit is in config.toml, not watched
    watcher.wait_ready()
    assert run_cli(home, "limit", "2").returncode == 0  # a slot is free, and no watched file changed
    assert item_data(home, "q_2")["state"] == "pending"

    added = run_cli(home, "queue", "add", "shoko/kugetsu#3", "three")
    assert added.returncode == 0, added.stderr
    wait_for(lambda: item_data(home, "q_2")["state"] == "completed", timeout=30, message="q_2 started")
    wait_state(home, NAME.format(2), "idle")
    assert dev_files(home) == [f"{NAME.format(1)}.json", f"{NAME.format(2)}.json"]  # cap 2: #3 waits
    assert watcher.stop() == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_watcher_with_exit_0_and_no_traceback(home, tmp_path, stack, signum):
    watcher = stack.enter_context(Watcher(home, tmp_path, {}))
    watcher.wait_ready()
    assert watcher.stop(signum) == 0
    assert watcher.output().splitlines()[-1] == "stopped"
    assert watcher.err.read_text() == ""


@pytest.mark.timeout(120)
def test_the_watcher_takes_back_a_claim_that_goes_stale_while_nothing_changes(home, tmp_path, stack):
    """A hung drainer's claim: no file changes, so only the watcher's stale-claim timer can free the item."""
    demo_agent_config(home, start_wait=0)  # claims go stale after 0 + 30 s
    hung = subprocess.Popen([PY, "-c", "import time; time.sleep(600)"])
    stack.callback(hung.wait)
    stack.callback(hung.kill)
    almost_stale = datetime.now(UTC) - timedelta(seconds=CLAIM_GRACE_S - 4)
    write_item(
        home,
        pending(
            2,
            "2026-03-29T18:00:00+02:00",
            state="starting",
            run_id="r" * 32,
            claimed_at=almost_stale.astimezone().isoformat(timespec="microseconds"),
            claimed_by={"pid": hung.pid, "started": wait_for(lambda: start_time(hung.pid))},
        ),
    )
    watcher = stack.enter_context(Watcher(home, tmp_path, {}))
    watcher.wait_ready()
    wait_for(lambda: "started q_2" in watcher.output(), timeout=60, message="the stale claim taken back")
    assert "taken back q_2" in watcher.output()
    assert item_data(home, "q_2")["state"] == "completed"
    assert watcher.stop() == 0
