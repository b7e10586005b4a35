"""The cap under real contention: many processes starting at once, and a starter killed mid-way."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import time

import pytest

from kugetsu_tui.base.locking import sessions_lock
from tests.helpers import (
    PY,
    cli_env,
    demo_agent_config,
    dev_files,
    make_home,
    read_index,
    run_cli,
    session_data,
    wait_for,
    wait_state,
    write_session,
)

STARTERS = 32
LIMIT = 3


def _gated_starter(home_root, ref, barrier, out_path):
    """One `kugetsu-tui start` in a forked process: wait at the barrier, then run the CLI's main."""
    import io
    import sys

    from kugetsu_tui.cli import main as cli

    os.environ["KUGETSU_HOME"] = home_root
    os.environ["MAX_CONCURRENT_AGENTS"] = str(LIMIT)
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    barrier.wait(timeout=60)
    code = cli.main(["start", ref, "race"])
    with open(out_path, "w") as handle:
        handle.write(sys.stderr.getvalue())
    sys.exit(code)


def _round(tmp_path, number):
    """STARTERS processes released together by a barrier against a cap of LIMIT."""
    home = make_home(tmp_path, f"home-{number}")
    demo_agent_config(home, seconds=0)
    context = multiprocessing.get_context("fork")  # the imports are paid once, the starts are real processes
    barrier = context.Barrier(STARTERS)
    outs = [tmp_path / f"round-{number}-{i}.err" for i in range(STARTERS)]
    procs = [
        context.Process(target=_gated_starter, args=(str(home.root), f"shoko/kugetsu#{100 + i}", barrier, str(outs[i])))
        for i in range(STARTERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    results = [(proc.exitcode, out.read_text() if out.exists() else "") for proc, out in zip(procs, outs, strict=True)]
    return home, results


@pytest.mark.timeout(240)
def test_32_simultaneous_starts_against_cap_3_admit_exactly_3_every_round(tmp_path):
    for number in range(5):
        home, results = _round(tmp_path, number)
        codes = sorted(code for code, _ in results)
        assert codes == [0] * LIMIT + [2] * (STARTERS - LIMIT), (number, results)
        assert len(dev_files(home)) == LIMIT, (number, dev_files(home))
        for code, err in results:
            assert "Traceback" not in err
            if code == 2:
                assert f"maximum concurrent agents ({LIMIT}) reached ({LIMIT}/{LIMIT} active)" in err
        assert len(read_index(home)["issues"]) == LIMIT
        for name in dev_files(home):
            data = wait_state(home, name[:-5], "idle")
            assert data["opencode_session_id"]


def _lock_waiters(lock_path):
    """How many processes are blocked on the flock of lock_path (from /proc/locks)."""
    inode = os.stat(lock_path).st_ino
    with open("/proc/locks") as handle:
        return sum(1 for line in handle if "->" in line and f":{inode} " in line)


@pytest.mark.timeout(120)
@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux /proc/locks")
def test_the_recount_under_the_lock_is_authoritative(tmp_path):
    """Every starter passes the preflight (0 active) and then queues on the lock: only the recount
    inside the critical section can keep them to the cap."""
    home = make_home(tmp_path)
    demo_agent_config(home, seconds=0)
    starters = 12
    with sessions_lock(home):
        procs = [
            subprocess.Popen(
                [PY, "-m", "kugetsu_tui", "start", f"shoko/kugetsu#{i + 1}", "queued"],
                env=cli_env(home, {"MAX_CONCURRENT_AGENTS": "2"}),
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(starters)
        ]
        wait_for(
            lambda: _lock_waiters(home.lock_path) >= starters,
            timeout=60,
            message="every starter queued on the sessions lock",
        )
        assert dev_files(home) == []
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 0] + [2] * (starters - 2)
    assert len(dev_files(home)) == 2


# A starter that dies by SIGKILL inside the critical section: after the placeholder and the
# index entry are written, before the lock is released and long before any agent is launched.
KILLED_STARTER = """
import os, signal, sys
from kugetsu_tui.sessions import index
from kugetsu_tui.lifecycle.start import start_session
from kugetsu_tui.base.home import Home
real_add = index.add_entry
def add_then_die(home, session):
    real_add(home, session)
    os.kill(os.getpid(), signal.SIGKILL)
index.add_entry = add_then_die
start_session(Home.locate(), sys.argv[1], "doomed")
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("others", [2, 0])
def test_a_starter_killed_holding_the_lock_leaves_no_overshoot_and_the_lock_free(tmp_path, others):
    home = make_home(tmp_path)
    demo_agent_config(home, seconds=0)
    for i in range(others):
        write_session(home, f"issue-{i}")
    killed = subprocess.run(
        [PY, "-c", KILLED_STARTER, "shoko/kugetsu#13"],
        env=cli_env(home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert killed.returncode == -9, killed.stderr
    placeholder = session_data(home, "github.com-shoko-kugetsu-13")
    assert placeholder["state"] == "starting" and placeholder.get("pid") is None
    assert len(dev_files(home)) == others + 1
    listing = json.loads(run_cli(home, "ls", "--json").stdout)
    (dead,) = [s for s in listing["sessions"] if s["name"] == "github.com-shoko-kugetsu-13"]
    assert dead["state"] == "failed" and "interrupted" in dead["error"]

    started = time.monotonic()
    result = run_cli(home, "start", "shoko/kugetsu#14", "next", timeout=20)
    assert time.monotonic() - started < 10  # the kernel released the dead starter's flock
    # The next start first rolls the dead one back: its placeholder holds no slot, and the cap holds.
    assert result.returncode == 0, result.stderr
    assert dev_files(home) == sorted([*(f"issue-{i}.json" for i in range(others)), "github.com-shoko-kugetsu-14.json"])
    assert len(dev_files(home)) <= 3
    listing = json.loads(run_cli(home, "ls", "--json").stdout)
    assert listing["active"] == len(dev_files(home))
