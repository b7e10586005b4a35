"""Taking a session over in the real opencode TUI, in a real terminal (tmux), and the server's diff.

How a test tells that the TUI opened on the right session in the right directory: the opencode
process under our command (psutil) has that session id and directory in its argv and that cwd, and
the TUI draws that session's transcript (the message it was forked with). Quitting it (ctrl+c) must
bring our command (or the console) back with its line on what changed meanwhile.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import start_time
from kugetsu_tui.worktrees.diff import Section, read_diff
from kugetsu_tui.worktrees.saved_work import WorktreeRecord
from tests.helpers import PY, assert_one_line_error, cli_env, wait_for
from tests.unit.worktree_support import git

from .harness import OpenCode, ServeProcess, _unavailable, free_port, write_kugetsu_home

pytestmark = pytest.mark.opencode

NAME = "github.com-acme-takeover-1"
TRANSCRIPT = "a fork to take over"
ROOT = Path(__file__).resolve().parents[2]


class Tmux:
    """One program in a tmux server of its own (its own socket: the environment is the one given)."""

    def __init__(self, socket: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.socket = socket
        self.base = ["tmux", "-L", socket, "-f", os.devnull]
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", "t", "-x", "120", "-y", "36", *argv],
            env=env,
            cwd=cwd,
            check=True,
            timeout=30,
        )

    def screen(self) -> str:
        result = subprocess.run([*self.base, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True)
        return result.stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run([*self.base, "send-keys", "-t", "t", key], check=True, timeout=10)
            time.sleep(0.3)

    def pane_pid(self) -> int:
        out = subprocess.run([*self.base, "list-panes", "-t", "t", "-F", "#{pane_pid}"], capture_output=True, text=True)
        return int(out.stdout.split()[0])

    def wait_screen(self, text: str, timeout: float = 60) -> str:
        return wait_for(
            lambda: self.screen() if text in self.screen() else None,
            timeout=timeout,
            interval=0.3,
            message=f"{text!r} on the screen; it shows:\n{self.screen()}",
        )

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Any]:
    if shutil.which("tmux") is None:
        _unavailable("tmux is not installed (apt-get install tmux): the take-over needs a real terminal")
    started: list[Tmux] = []

    def start(argv: list[str], env: dict[str, str], cwd: Path) -> Tmux:
        session = Tmux(f"kugetsu-test-{os.getpid()}-{len(started)}", argv, env, cwd)
        started.append(session)
        return session

    yield start
    for session in started:
        session.kill()


@pytest.fixture
def home(opencode: OpenCode, base_session: str, opencode_project: Path, tmp_path: Path) -> Home:
    """A kugetsu home with one dev session: a real fork of the base session, filed under the project."""
    home = Home(write_kugetsu_home(tmp_path / "kugetsu", base_session, worktrees=False))
    sid = opencode.fork(base_session, TRANSCRIPT)
    (home.sessions_dir / f"{NAME}.json").write_text(
        json.dumps(
            {
                "type": "forked",
                "issue_ref": "github.com/acme/takeover#1",
                "opencode_session_id": sid,
                "state": "idle",
                "cwd": str(opencode_project),
            }
        )
    )
    return home


def sid_of(home: Home) -> str:
    return str(json.loads(home.session_path(NAME).read_text())["opencode_session_id"])


def tui_process(root_pid: int, sid: str) -> psutil.Process | None:
    """The opencode process running on `sid` under `root_pid` (the shell in the tmux pane)."""
    try:
        for child in psutil.Process(root_pid).children(recursive=True):
            cmdline = child.cmdline()
            if "--session" in cmdline and sid in cmdline:
                return child
    except psutil.Error:
        return None
    return None


def env_for(opencode_env: dict[str, str], home: Home) -> dict[str, str]:
    env = cli_env(home, {k: v for k, v in opencode_env.items()})
    env["PYTHONPATH"] = str(ROOT)
    env["TERM"] = "xterm-256color"
    return env


def quit_tui(session: Tmux, tui: psutil.Process) -> None:
    """ctrl+c, as the notice says, until opencode has exited."""
    for _ in range(5):
        session.keys("C-c")
        try:
            tui.wait(timeout=5)
            return
        except psutil.TimeoutExpired:
            continue
    raise AssertionError(f"opencode's TUI did not exit on ctrl+c; the screen:\n{session.screen()}")


def attach_and_quit(session: Tmux, home: Home, argv_tail: list[str], directory: Path) -> None:
    sid = sid_of(home)
    tui = wait_for(lambda: tui_process(session.pane_pid(), sid), timeout=60, interval=0.3, message="opencode's TUI")
    assert tui.cmdline()[-len(argv_tail) :] == argv_tail
    assert tui.cwd() == str(directory)
    assert tui.environ().get("PWD") == str(directory)
    session.wait_screen(TRANSCRIPT)  # the TUI draws this session's own transcript
    quit_tui(session, tui)


def test_attach_without_a_server_opens_the_tui_on_the_session_and_comes_back(
    home: Home, opencode_env: dict[str, str], opencode_project: Path, tmux: Any, tmp_path: Path
) -> None:
    command = f"{PY} -m kugetsu_tui attach {NAME}; echo exit status $?; exec sleep 600"
    session = tmux(["sh", "-c", command], env_for(opencode_env, home), tmp_path)  # not from the project
    session.wait_screen("quit opencode", timeout=30)
    sid = sid_of(home)
    attach_and_quit(session, home, [str(opencode_project), "--session", sid], opencode_project)
    screen = session.wait_screen("exit status", timeout=30)
    assert f"nothing changed in {NAME} meanwhile" in screen and "exit status 0" in screen


def test_attach_with_a_server_attaches_to_it(
    opencode: OpenCode, home: Home, opencode_env: dict[str, str], opencode_project: Path, tmux: Any, tmp_path: Path
) -> None:
    server = ServeProcess(opencode, opencode_project, free_port()).start()
    try:
        home.config_toml.write_text(f'[worktrees]\nenabled = false\n\n[agent]\nserver = "{server.url}"\n')
        command = f"{PY} -m kugetsu_tui attach {NAME}; echo exit status $?; exec sleep 600"
        session = tmux(["sh", "-c", command], env_for(opencode_env, home), tmp_path)
        sid = sid_of(home)
        attach_and_quit(
            session, home, ["attach", server.url, "--dir", str(opencode_project), "--session", sid], opencode_project
        )
        screen = session.wait_screen("exit status", timeout=30)
        assert f"nothing changed in {NAME} meanwhile" in screen
    finally:
        server.kill()


def test_refused_while_its_agent_runs_without_a_server(
    opencode: OpenCode, home: Home, opencode_env: dict[str, str], opencode_project: Path
) -> None:
    sid = sid_of(home)
    agent = subprocess.Popen(
        [str(opencode.binary), "run", "--session", sid, "--format", "json", "[slow 30] keep busy"],
        cwd=opencode_project,
        env=dict(opencode_env, PWD=str(opencode_project)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        data = json.loads(home.session_path(NAME).read_text())
        data.update(state="running", pid=agent.pid, pid_started=start_time(agent.pid))
        home.session_path(NAME).write_text(json.dumps(data))
        result = subprocess.run(
            [PY, "-m", "kugetsu_tui", "attach", NAME],
            env=env_for(opencode_env, home),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert_one_line_error(result, 1, "its agent is running", "second writer")
    finally:
        os.killpg(agent.pid, 9)
        agent.wait()


def test_the_console_makes_way_for_the_tui_and_is_back_when_it_quits(
    home: Home, opencode_env: dict[str, str], opencode_project: Path, tmux: Any, tmp_path: Path
) -> None:
    session = tmux([PY, "-m", "kugetsu_tui"], env_for(opencode_env, home), tmp_path)
    session.wait_screen("acme/takeover#1", timeout=30)
    session.keys("G", "t")  # the last row: the dev session
    session.wait_screen("quit opencode", timeout=30)  # said before the console makes way
    sid = sid_of(home)
    attach_and_quit(session, home, [str(opencode_project), "--session", sid], opencode_project)
    screen = session.wait_screen(f"nothing changed in {NAME} meanwhile", timeout=30)
    assert "acme/takeover#1" in screen  # the console, redrawn


def _get(url: str, path: str, directory: Path, **query: str) -> Any:
    full = f"{url}{path}?{urllib.parse.urlencode({'directory': str(directory), **query})}"
    with urllib.request.urlopen(full, timeout=30) as answer:
        return json.loads(answer.read())


def test_the_servers_branch_diff_counts_equal_ours(opencode: OpenCode, make_project: Any, tmp_path: Path) -> None:
    """`GET /vcs/diff?mode=branch` against ours on one worktree: text changes in each section.

    Where they differ by design (checked here as facts, so a new opencode that changes them is seen):
    the server shows a rename as a deletion and an addition, and counts a binary file's "lines".
    """
    repo = make_project("diffed")
    git(repo, "branch", "-M", "main")
    (repo / "lib.py").write_text("".join(f"x{i} = {i}\n" for i in range(30)))
    (repo / "old.txt").write_text("old\n")
    (repo / "gone.txt").write_text("bye\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "files")
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "fix/1", str(worktree), "main")
    (worktree / "lib.py").write_text("".join(f"x{i} = {i * 2}\n" for i in range(0, 30, 2)))  # committed
    (worktree / "added.py").write_text("print('hi')\n")
    git(worktree, "add", ".")
    git(worktree, "commit", "-q", "-m", "work")
    (worktree / "README.md").write_text("changed\n")  # uncommitted
    os.unlink(worktree / "gone.txt")  # uncommitted deletion
    (worktree / "new.txt").write_text("one\ntwo\nthree\n")  # untracked
    index = Path(git(worktree, "rev-parse", "--path-format=absolute", "--git-path", "index"))
    before = index.read_bytes()

    server = ServeProcess(opencode, repo, free_port()).start()
    try:
        assert _get(server.url, "/vcs", worktree) == {"branch": "fix/1", "default_branch": "main"}
        theirs = {
            d["file"]: (d["additions"], d["deletions"], d["status"])
            for d in _get(server.url, "/vcs/diff", worktree, mode="branch")
        }
        diff = read_diff(WorktreeRecord(repo, worktree, "fix/1", "main", None))
        ours = {c.path: (c.additions, c.deletions, str(c.status)) for c in diff.files}
        assert len(ours) == len(diff.files)  # each file changed in one section only: the counts add up
        assert theirs == ours
        assert {c.path for c in diff.section(Section.UNTRACKED)} == {"new.txt"}
        assert index.read_bytes() == before  # neither the server nor we touched it

        git(worktree, "mv", "old.txt", "moved.txt")
        (worktree / "data.bin").write_bytes(b"\0\1\2\n\3\4\n")
        before = index.read_bytes()
        statuses = {d["file"]: d["status"] for d in _get(server.url, "/vcs/diff", worktree, mode="branch")}
        moved = {c.path: c for c in read_diff(WorktreeRecord(repo, worktree, "fix/1", "main", None)).files}
        assert moved["moved.txt"].old_path == "old.txt" and moved["data.bin"].binary
        assert statuses["old.txt"] == "deleted" and statuses["moved.txt"] == "added"
        assert statuses["data.bin"] == "added"  # counted as text by the server, binary (no counts) by git
        assert index.read_bytes() == before
    finally:
        server.kill()
