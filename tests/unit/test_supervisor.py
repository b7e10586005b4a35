"""The supervisor: the agent's outcome is recorded by a process of ours, guarded by the run id."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.lifecycle.supervisor import describe_exit
from tests.helpers import PY, REPORT_THEN_EXIT, pid_alive, session_data, wait_for, write_session

NAME = "github.com-shoko-kugetsu-7"


@pytest.fixture
def bare(tmp_path) -> Home:
    home = Home(tmp_path / "home")
    home.ensure()
    return home


def prepare(home, run_id="run-1", **extra):
    return write_session(
        home,
        NAME,
        {
            "type": "forked",
            "issue_ref": "github.com/shoko/kugetsu#7",
            "opencode_session_id": None,
            "state": "starting",
            "run_id": run_id,
            "unknown_field": [1, 2],
            **extra,
        },
    )


def supervise(home, argv, run_id="run-1", cwd=None):
    """Start the supervisor exactly as the launcher does; return its Popen."""
    return subprocess.Popen(
        [
            PY,
            "-m",
            "kugetsu_tui.lifecycle.supervisor",
            "--home",
            str(home.root),
            "--name",
            NAME,
            "--run-id",
            run_id,
            "--cwd",
            str(cwd or home.root),
            "--",
            *argv,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.parametrize(
    "code, text",
    [
        (0, "exit status 0"),
        (3, "exit status 3"),
        (-9, "killed by SIGKILL"),
        (-15, "killed by SIGTERM"),
        (-200, "killed by signal 200"),
    ],
)
def test_describe_exit(code, text):
    assert describe_exit(code) == text


# --- recording the outcome ---------------------------------------------------------------------------


def test_it_records_running_the_first_session_id_and_idle_keeping_unknown_fields(bare):
    prepare(bare)
    code = (
        "import json, os, sys; print('plain text first', flush=True); "
        "print(json.dumps({'type': 'step_start', 'sessionID': 'ses_first', 'pid': os.getpid()}), flush=True); "
        "print(json.dumps({'type': 'text', 'sessionID': 'ses_second'}), flush=True); "
        "print('to stderr', file=sys.stderr, flush=True)"
    )
    proc = supervise(bare, [PY, "-c", code])
    assert proc.wait(timeout=20) == 0, proc.stderr.read()
    data = session_data(bare, NAME)
    log = (bare.logs_dir / f"{NAME}.log").read_text()
    agent_pid = [json.loads(line)["pid"] for line in log.splitlines() if "ses_first" in line][0]
    assert data["state"] == "idle" and data["exit_code"] == 0 and data["error"] is None
    assert data["opencode_session_id"] == "ses_first"
    assert data["pid"] == agent_pid and data["supervisor_pid"] == proc.pid
    assert isinstance(data["pid_started"], float) and isinstance(data["supervisor_started"], float)
    assert data["finished_at"] and data["unknown_field"] == [1, 2] and data["run_id"] == "run-1"
    assert "plain text first" in log and "to stderr" in log and "ses_second" in log


def test_it_records_running_while_the_agent_lives(bare):
    prepare(bare)
    proc = supervise(bare, [PY, "-c", REPORT_THEN_EXIT, "30", "0", "ses_long"])
    try:
        data = wait_for(
            lambda: (d := session_data(bare, NAME)) and d.get("opencode_session_id") and d, message="the session id"
        )
        assert data["state"] == "running" and pid_alive(data["pid"])
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_a_non_zero_exit_is_recorded_as_failed_with_its_status(bare):
    prepare(bare)
    proc = supervise(bare, [PY, "-c", REPORT_THEN_EXIT, "0", "3", "ses_f"])
    assert proc.wait(timeout=20) == 3
    data = session_data(bare, NAME)
    assert data["state"] == "failed" and data["exit_code"] == 3
    assert data["error"] == "exit status 3" and data["opencode_session_id"] == "ses_f"


def test_an_agent_killed_by_a_signal_is_recorded(bare):
    prepare(bare)
    proc = supervise(bare, [PY, "-c", REPORT_THEN_EXIT, "30", "0", "ses_k"])
    data = wait_for(lambda: (d := session_data(bare, NAME)) and d.get("opencode_session_id") and d)
    os.kill(data["pid"], signal.SIGKILL)
    proc.wait(timeout=20)
    data = session_data(bare, NAME)
    assert data["state"] == "failed" and data["exit_code"] == -9 and "SIGKILL" in data["error"]


def test_terminating_the_supervisor_terminates_the_agent_and_records_it(bare):
    prepare(bare)
    proc = supervise(bare, [PY, "-c", REPORT_THEN_EXIT, "30", "0", "ses_t"])
    data = wait_for(lambda: (d := session_data(bare, NAME)) and d.get("opencode_session_id") and d)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert not pid_alive(data["pid"])
    data = session_data(bare, NAME)
    assert data["state"] == "failed" and data["exit_code"] == -15


def test_a_hangup_does_not_stop_the_agent(bare):
    prepare(bare)
    proc = supervise(bare, [PY, "-c", REPORT_THEN_EXIT, "1", "0", "ses_h"])
    wait_for(lambda: (d := session_data(bare, NAME)) and d.get("state") == "running")
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=20) == 0
    assert session_data(bare, NAME)["state"] == "idle"


def test_a_missing_agent_program_is_recorded_as_failed_127(bare):
    prepare(bare)
    proc = supervise(bare, ["/nonexistent/opencode", "run"])
    assert proc.wait(timeout=20) == 127
    data = session_data(bare, NAME)
    assert data["state"] == "failed" and data["exit_code"] == 127 and "cannot run" in data["error"]
    assert "cannot run '/nonexistent/opencode'" in (bare.logs_dir / f"{NAME}.log").read_text()


def test_it_never_writes_to_a_session_of_another_run(bare):
    path = prepare(bare, run_id="the-new-run")
    before = path.read_bytes()
    proc = supervise(bare, [PY, "-c", REPORT_THEN_EXIT, "0", "0", "ses_old"], run_id="an-old-run")
    proc.wait(timeout=20)
    assert path.read_bytes() == before


def test_it_never_resurrects_a_destroyed_session(bare):
    path = prepare(bare)
    proc = supervise(bare, [PY, "-c", REPORT_THEN_EXIT, "0.5", "0", "ses_gone"])
    wait_for(lambda: (d := session_data(bare, NAME)) and d.get("state") == "running")
    # Destroy moves the file under the sessions lock; unlinked without it, the file could come back
    # from an update already under way (read before the unlink, renamed into place after it).
    with sessions_lock(bare):
        path.unlink()
    proc.wait(timeout=20)
    assert not os.path.lexists(path)
    assert sorted(os.listdir(bare.sessions_dir)) == [".lock"]


def test_it_never_writes_through_a_file_that_became_corrupt(bare):
    path = prepare(bare)
    proc = supervise(bare, [PY, "-c", REPORT_THEN_EXIT, "0.5", "0", "ses_c"])
    # Once its first event is recorded, the supervisor's only write left is the final state at exit. (Made
    # corrupt before that, by a writer that takes no lock, the file can be rewritten by an update already
    # under way: the race of any two writers without a lock, not what this test is about.)
    wait_for(lambda: (d := session_data(bare, NAME)) and d.get("opencode_session_id") == "ses_c")
    path.write_bytes(b"{operator is editing")
    proc.wait(timeout=20)
    assert path.read_bytes() == b"{operator is editing"


def test_the_supervisor_needs_a_command():
    result = subprocess.run(
        [
            PY,
            "-m",
            "kugetsu_tui.lifecycle.supervisor",
            "--home",
            "/nonexistent",
            "--name",
            "x",
            "--run-id",
            "r",
            "--cwd",
            "/",
            "--",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode != 0 and "no agent command" in result.stderr


def test_it_does_not_start_the_agent_for_a_session_that_is_gone(bare, tmp_path):
    marker = tmp_path / "agent-ran"
    proc = supervise(bare, [PY, "-c", "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('ran')", str(marker)])
    proc.wait(timeout=20)
    assert not marker.exists()


def test_the_agent_runs_in_the_given_directory_with_a_matching_pwd(bare, tmp_path, monkeypatch):
    """opencode reads $PWD, not the real cwd: a stale PWD inherited from the caller makes it hang."""
    workdir = tmp_path / "project"
    workdir.mkdir()
    monkeypatch.setenv("PWD", "/somewhere/else")
    prepare(bare)
    code = "import os; print('where', os.getcwd(), os.environ['PWD'], flush=True)"
    proc = supervise(bare, [PY, "-c", code], cwd=workdir)
    assert proc.wait(timeout=20) == 0
    assert f"where {workdir} {workdir}" in bare.log_path(NAME).read_text()
