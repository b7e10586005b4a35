"""Dev sessions in git worktrees with the real opencode: the agent's files land in its own worktree.

One project (a git repo), one kugetsu home whose [repos] maps github.com/acme/widgets to it, walked
through in order: start (the fake model answers `write note.txt: …` with opencode's `write` tool) ->
continue -> destroy (the worktree's work saved, the worktree removed) -> restore -> continue again.

Facts checked here (opencode-ai 1.18.33):
- `opencode run --session BASE --fork` from a worktree forks into BASE's directory and never exits, so
  the start copies BASE instead: export, new ids (`opencode import` skips message and part rows whose
  ids exist, which would leave the copy without a transcript), import from the worktree, then
  `opencode run --session NEW` there with PWD set. The copy's export names the worktree as its
  directory and carries BASE's transcript; BASE keeps all of its own messages.
- A file the agent writes with a relative path lands in the worktree, not in the main checkout.
- Not a cleaner way (checked by hand, not tested here: it needs a 40 s wait for a hang): the server's
  `POST /session/{id}/fork` (OpenAPI at `GET /doc` of `opencode serve`: path sessionID, query `directory`
  and `workspace`, body `{"messageID"}`) called with `?directory=WORKTREE` and the header
  `x-opencode-directory: WORKTREE` still files the fork under BASE's directory (in its reply and its
  export), and `opencode run --session FORK` from the worktree then hangs as well.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .harness import REPO_ROOT, OpenCode, Result, init_git_project, run_command, write_kugetsu_home

pytestmark = pytest.mark.opencode

REF, NAME = "github.com/acme/widgets#5", "github.com-acme-widgets-5"
AGENT_WAIT = 90.0


class Flow:
    def __init__(self, home: Path, project: Path, env: dict[str, str], opencode: OpenCode, base_id: str) -> None:
        self.home, self.project, self.env, self.opencode, self.base_id = home, project, env, opencode, base_id
        self.worktree = home / "worktrees" / NAME
        self.ids: dict[str, str] = {}

    def cli(self, *args: str) -> Result:
        return run_command([sys.executable, "-m", "kugetsu_tui", *args], env=self.env, cwd=self.project, timeout=180)

    def session(self) -> dict[str, Any]:
        return json.loads((self.home / "sessions" / f"{NAME}.json").read_text("utf-8"))

    def wait_idle(self) -> dict[str, Any]:
        deadline = time.monotonic() + AGENT_WAIT
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            data = self.session()
            if data.get("state") in ("idle", "failed") and data.get("exit_code") is not None:
                assert data["state"] == "idle", f"{data}\n{self.log()}"
                return data
            time.sleep(0.3)
        pytest.fail(f"{NAME} not idle after {AGENT_WAIT:.0f}s: {data}\n{self.log()}")

    def log(self) -> str:
        try:
            return (self.home / "logs" / f"{NAME}.log").read_text("utf-8", "replace")[-3000:]
        except OSError:
            return "(no log)"

    def git(self, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run(
            ["git", *args], cwd=cwd or self.project, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


@pytest.fixture(scope="module")
def flow(opencode_bin: Path, opencode_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    project = init_git_project(tmp_path_factory.mktemp("worktree-project"), opencode_env, "worktree project")
    oc = OpenCode(opencode_bin, opencode_env, project)
    base_id = oc.create_session("kugetsu base")
    home = write_kugetsu_home(tmp_path_factory.mktemp("kugetsu-home"), base_id)
    (home / "config.toml").write_text(f'[repos]\n"github.com/acme/widgets" = "{project}"\n', "utf-8")
    env = dict(opencode_env, KUGETSU_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    state = Flow(home, project, env, oc, base_id)
    yield state
    for key in ("supervisor_pid", "pid"):
        try:
            pid = state.session().get(key)
            if isinstance(pid, int) and pid > 1:
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass


def _need(flow: Flow) -> None:
    if "sid" not in flow.ids:
        pytest.fail("the start did not succeed: see the first failure in this module")


def test_start_writes_the_agents_file_into_its_worktree_only(flow: Flow) -> None:
    base_messages = flow.opencode.message_count(flow.base_id)
    result = flow.cli("start", REF, "write note.txt: hello from the agent")
    assert result.returncode == 0, result.describe()
    data = flow.wait_idle()
    assert data["worktree_path"] == str(flow.worktree) and data["branch_name"] == "fix/issue-5"
    assert data["repo"] == str(flow.project)
    assert (flow.worktree / "note.txt").is_file(), flow.log()
    assert (flow.worktree / "note.txt").read_text() == "hello from the agent\n"
    assert not (flow.project / "note.txt").exists()
    found = [p for p in (*flow.home.rglob("note.txt"), *flow.project.rglob("note.txt"))]
    assert found == [flow.worktree / "note.txt"]
    assert flow.git("rev-parse", "--abbrev-ref", "HEAD", cwd=flow.worktree) == "fix/issue-5"

    sid = data["opencode_session_id"]
    assert sid.startswith("ses_") and len(sid) == 30 and sid != flow.base_id
    exported = flow.opencode.export(sid, cwd=flow.worktree)
    assert exported["info"]["directory"] == str(flow.worktree)
    texts = json.dumps(exported["messages"])
    assert "kugetsu base" in texts and "write note.txt" in texts  # the base's transcript, then the new work
    assert flow.opencode.message_count(flow.base_id) == base_messages  # the copy took nothing from the base
    assert sid in flow.opencode.session_ids(cwd=flow.worktree)
    flow.ids["sid"] = sid


def test_continue_runs_in_the_worktree(flow: Flow) -> None:
    _need(flow)
    result = flow.cli("continue", REF, "write second.txt: more work")
    assert result.returncode == 0, result.describe()
    data = flow.wait_idle()
    assert data["opencode_session_id"] == flow.ids["sid"]
    assert (flow.worktree / "second.txt").read_text() == "more work\n", flow.log()
    assert not (flow.project / "second.txt").exists()


def test_destroy_saves_the_worktree_and_removes_it(flow: Flow) -> None:
    _need(flow)
    result = flow.cli("destroy", REF, "-y")
    assert result.returncode == 0, result.describe()
    assert not flow.worktree.exists()
    entries = list((flow.home / "archive").glob(f"{NAME}--*"))
    assert len(entries) == 1 and (entries[0] / "worktree" / "untracked.tar").exists()
    assert flow.ids["sid"] not in flow.opencode.session_ids()
    # nothing committed on the branch: it is all on the base, so it goes too
    assert "fix/issue-5" not in flow.git("branch", "--list")


def test_restore_brings_back_the_worktree_and_the_session_continues_there(flow: Flow) -> None:
    _need(flow)
    result = flow.cli("restore", NAME)
    assert result.returncode == 0, result.describe()
    assert (flow.worktree / "note.txt").read_text() == "hello from the agent\n"
    assert (flow.worktree / "second.txt").read_text() == "more work\n"
    assert flow.session()["opencode_session_id"] == flow.ids["sid"]
    result = flow.cli("continue", REF, "write third.txt: after restore")
    assert result.returncode == 0, result.describe()
    flow.wait_idle()
    assert (flow.worktree / "third.txt").read_text() == "after restore\n", flow.log()


def test_import_skips_messages_whose_ids_exist_so_a_copy_needs_new_ones(
    opencode: OpenCode, base_session: str, tmp_path: Path
) -> None:
    """Why `relocated` gives every message and part a new id: with the base's ids the copy is empty."""
    from kugetsu_tui.opencode.fork import new_session_id, relocated

    exported = opencode("export", base_session, check=True).stdout.encode()
    base_count = len(json.loads(exported)["messages"])
    assert base_count >= 2
    same_ids = json.loads(exported)
    same_ids["info"]["id"] = shallow = new_session_id()
    (tmp_path / "same-ids.json").write_text(json.dumps(same_ids))
    opencode.import_file(tmp_path / "same-ids.json")
    assert opencode.message_count(shallow) == 0

    copy = relocated(exported, deep := new_session_id(), str(opencode.project))
    (tmp_path / "new-ids.json").write_text(json.dumps(copy))
    opencode.import_file(tmp_path / "new-ids.json")
    assert opencode.message_count(deep) == base_count == opencode.message_count(base_session)
    for sid in (shallow, deep):
        opencode.delete(sid)
