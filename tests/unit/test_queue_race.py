"""Two `queue drain --watch` processes (and, in one round, a console) racing over one queue at cap 2, while
another process destroys sessions.

Every item must start exactly once, in queue order, and the sessions directory must never hold more than
two dev session files: it is sampled throughout, from a thread of the test.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading

import pytest

from kugetsu_tui.queue.items import parse_time
from kugetsu_tui.queue.manage import enqueue
from tests.helpers import PY, cli_env, demo_agent_config, dev_files, wait_for
from tests.unit.queue_fixtures import Watcher, item_data

ITEMS = 10
CAP = 2

# Destroys each dev session once its agent is done, until `count` are destroyed: the slots free one by one.
DESTROYER = """
import sys, time
from kugetsu_tui.lifecycle.archive import destroy_session
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.files import KIND_DEV, list_sessions
home, count, destroyed = Home.locate(), int(sys.argv[1]), 0
while destroyed < count:
    for session in list_sessions(home):
        if session.kind == KIND_DEV and session.recorded_state == "idle":
            destroy_session(home, session.name)
            destroyed += 1
    time.sleep(0.02)
"""


# The console, headless in its own process: it drains the queue whenever a slot frees, like the watchers.
CONSOLE = """
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.base.home import Home
KugetsuConsole(Home.locate(), sample_processes=False, check_work=False).run(headless=True)
"""


class Sampler(threading.Thread):
    """Counts the dev session files over and over until stopped."""

    def __init__(self, home):
        super().__init__(daemon=True)
        self.home, self.counts, self.halt = home, [], threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.counts.append(len(dev_files(self.home)))
            self.halt.wait(0.002)


def _destroy_until_every_item_ran(home, tmp_path, env, ids):
    destroyer = subprocess.Popen(
        [PY, "-c", DESTROYER, str(ITEMS)],
        env=cli_env(home, env),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, errors = destroyer.communicate(timeout=240)
    finally:
        if destroyer.poll() is None:
            destroyer.kill()
    assert destroyer.returncode == 0, errors
    wait_for(
        lambda: all(item_data(home, i)["state"] == "completed" for i in ids), timeout=30, message="every item completed"
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("with_console", [False, True], ids=["two-watchers", "two-watchers-and-a-console"])
def test_drainers_start_every_item_once_in_order_and_never_exceed_the_cap(home, tmp_path, with_console):
    demo_agent_config(home, seconds=0.5)
    ids = [enqueue(home, f"shoko/kugetsu#{n}", f"queued work {n}").item.id for n in range(1, ITEMS + 1)]
    env = {"MAX_CONCURRENT_AGENTS": str(CAP)}
    sampler = Sampler(home)
    sampler.start()
    console = None
    try:
        with Watcher(home, tmp_path, env, "first") as first, Watcher(home, tmp_path, env, "second") as second:
            first.wait_ready()
            second.wait_ready()
            if with_console:
                console = subprocess.Popen(
                    [PY, "-c", CONSOLE],
                    env=cli_env(home, env),
                    cwd=tmp_path,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            _destroy_until_every_item_ran(home, tmp_path, env, ids)
            outputs = [first.output(), second.output()]
            assert [first.stop(), second.stop()] == [0, 0]
            if console is not None:
                assert console.poll() is None, console.stderr.read() if console.stderr else ""  # still running
    finally:
        sampler.halt.set()
        sampler.join()
        if console is not None and console.poll() is None:
            console.kill()
            console.wait()

    # Never more than the cap, and the cap was reached (the drainers really raced for slots).
    assert len(sampler.counts) > 100
    assert max(sampler.counts) == CAP, sorted(set(sampler.counts))
    # Exactly once: one "started" report per item across the watchers (the console reports on its screen),
    # and one archived session per issue whoever started it.
    started = re.findall(r"^\S+ started (q_\w+) ", "".join(outputs), re.MULTILINE)
    assert len(started) == len(set(started)) and set(started) <= set(ids)
    if not with_console:
        assert sorted(started) == sorted(ids)
    archived = [json.loads(meta.read_text())["issue_ref"] for meta in home.archive_dir.glob("*/meta.json")]
    assert sorted(archived) == sorted(f"github.com/shoko/kugetsu#{n}" for n in range(1, ITEMS + 1))
    for n in range(1, ITEMS + 1):
        (export,) = home.archive_dir.glob(f"github.com-shoko-kugetsu-{n}--*/export.json")
        texts = [message["text"] for message in json.loads(export.read_text())["messages"]]
        assert [t for t in texts if t.startswith("queued work")] == [f"queued work {n}"]
    # In order: the claims, taken under the lock, follow the queue.
    assert sorted(ids, key=lambda i: parse_time(item_data(home, i)["claimed_at"])) == ids
    assert dev_files(home) == []
