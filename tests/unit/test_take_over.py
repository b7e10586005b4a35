"""Taking a session over (opencode/attach.py, lifecycle/take_over.py, `kugetsu-tui attach`).

The command is checked against the real CLI in tests/opencode/test_take_over_real_opencode.py; here a
stand-in `opencode` on PATH records how it was run, and tries the continue a second writer would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import start_time
from kugetsu_tui.lifecycle import take_over
from kugetsu_tui.opencode.attach import take_over_plan
from kugetsu_tui.opencode.settings import load_agent_config
from kugetsu_tui.sessions.files import read_session
from kugetsu_tui.worktrees.diff import Totals
from tests.helpers import PY, assert_one_line_error, demo_agent_config, make_home, run_cli, write_session

NAME = "github.com-acme-widgets-7"
SID = "ses_0123456789abcdefghijklmnop"

#: A stand-in for opencode's TUI: records argv, cwd and PWD, then tries `kugetsu-tui continue` (a second writer).
FAKE_TUI = f"""#!{sys.executable}
import json, os, subprocess, sys
if sys.argv[1:] == ["--version"]:
    print("1.18.33")
    sys.exit(0)
tried = subprocess.run([{sys.executable!r}, "-m", "kugetsu_tui", "continue", {NAME!r}, "hi"],
                       capture_output=True, text=True)
with open(os.environ["TUI_RECORD"], "w") as out:
    json.dump({{"argv": sys.argv[1:], "cwd": os.getcwd(), "pwd": os.environ.get("PWD"),
               "continue": [tried.returncode, tried.stderr]}}, out)
sys.exit(int(os.environ.get("TUI_EXIT", "0")))
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    home = make_home(tmp_path)
    demo_agent_config(home)
    workdir = tmp_path / "work"
    workdir.mkdir()
    write_session(
        home,
        NAME,
        {"type": "forked", "issue_ref": "github.com/acme/widgets#7", "opencode_session_id": SID, "state": "idle"},
        cwd=str(workdir),
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "opencode").write_text(FAKE_TUI)
    (bin_dir / "opencode").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUGETSU_HOME", str(home.root))
    monkeypatch.setenv("TUI_RECORD", str(tmp_path / "record.json"))
    return home


def _serve(home: Home, url: str = "http://127.0.0.1:4096") -> None:
    demo_agent_config(home, server=url)


def _running(home: Home) -> subprocess.Popen[bytes]:
    """An agent process recorded in the session file, as a running session has."""
    agent = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])
    data = json.loads(home.session_path(NAME).read_text())
    data.update(state="running", pid=agent.pid, pid_started=start_time(agent.pid))
    home.session_path(NAME).write_text(json.dumps(data))
    return agent


def test_without_a_server_the_tui_runs_on_the_session_in_its_directory(home: Home) -> None:
    session = read_session(home.session_path(NAME))
    plan = take_over_plan(home, session, agent_running=False, config=load_agent_config(home))
    directory = session.data["cwd"]
    assert plan.argv == ["opencode", directory, "--session", SID]
    assert plan.cwd == directory and plan.env()["PWD"] == directory and plan.server is None


def test_with_a_server_it_attaches_with_dir_and_session_never_continue(home: Home) -> None:
    _serve(home)
    session = read_session(home.session_path(NAME))
    plan = take_over_plan(home, session, agent_running=True, config=load_agent_config(home))
    directory = session.data["cwd"]
    assert plan.argv == ["opencode", "attach", "http://127.0.0.1:4096", "--dir", directory, "--session", SID]
    assert not {"-c", "--continue"} & set(plan.argv)


def test_the_password_is_never_on_the_command_line(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(home)
    monkeypatch.setenv("OPENCODE_SERVER_PASSWORD", "s3cret")
    plan = take_over_plan(
        home, read_session(home.session_path(NAME)), agent_running=False, config=load_agent_config(home)
    )
    assert "s3cret" not in " ".join(plan.argv)
    assert plan.env()["OPENCODE_SERVER_PASSWORD"] == "s3cret"  # opencode attach reads it from there


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"type": "forked", "state": "idle"}, "has no opencode session id yet"),
        ({"type": "forked", "state": "idle", "opencode_session_id": "-c"}, "is not an opencode session id"),
        ('{"type": ', "its file is unusable"),
    ],
)
def test_refused_in_one_line(home: Home, data: object, words: str) -> None:
    write_session(home, NAME, data)
    with pytest.raises(KugetsuError, match=words):
        take_over.prepare(home, NAME)


def test_refused_while_the_agent_runs_without_a_server(home: Home) -> None:
    agent = _running(home)
    try:
        with pytest.raises(KugetsuError, match="its agent is running .* second writer"):
            take_over.prepare(home, NAME)
        _serve(home)
        assert take_over.prepare(home, NAME).plan.server == "http://127.0.0.1:4096"
    finally:
        agent.kill()
        agent.wait()


def test_no_continue_can_start_a_second_writer_while_the_tui_runs(home: Home, tmp_path: Path) -> None:
    prepared = take_over.prepare(home, NAME)
    status, changed = take_over.run(home, prepared)
    record = json.loads((tmp_path / "record.json").read_text())
    assert status == 0 and changed == f"nothing changed in {NAME} meanwhile"
    assert record["argv"] == prepared.plan.argv[1:] and record["cwd"] == record["pwd"] == prepared.plan.cwd
    code, stderr = record["continue"]
    assert code == 1 and f"{NAME} is being changed by another process" in stderr


def test_with_a_server_a_continue_is_not_blocked(home: Home, tmp_path: Path) -> None:
    """The server is the one writer: the TUI and a continue through it may overlap."""
    _serve(home, "http://127.0.0.1:9")  # nothing listens: the continue fails on the server, not the lock
    take_over.run(home, take_over.prepare(home, NAME))
    _, stderr = json.loads((tmp_path / "record.json").read_text())["continue"]
    assert "being changed by another process" not in stderr


def test_what_changed_meanwhile_is_said_in_one_line() -> None:
    before = take_over.Snapshot("idle", "a" * 40, Totals(1, 2, 0, 1))
    assert take_over.changes("s", before, before) == "nothing changed in s meanwhile"
    after = take_over.Snapshot("running", "b" * 40, Totals(3, 12, 4, 1))
    assert take_over.changes("s", before, after) == (
        "meanwhile in s: state idle → running; new HEAD bbbbbbbb; diff now 3 files, +12 -4, 1 uncommitted"
    )


def test_the_cli_needs_a_terminal(home: Home) -> None:
    assert_one_line_error(run_cli(home, "attach", NAME), 1, "needs a terminal")


def test_the_cli_asks_before_taking_over_base(home: Home, tmp_path: Path) -> None:
    """On a terminal (a pty): base needs a yes; `n` cancels before opencode runs."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the pty
        os.execvpe(PY, [PY, "-m", "kugetsu_tui", "attach", "base"], dict(os.environ))
    output = b""
    while b"[y/N]" not in output:
        output += os.read(fd, 1024)
    os.write(fd, b"n\n")
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1 and b"cancelled" in output
    assert b"Take over the BASE session" in output
    assert not (tmp_path / "record.json").exists()
