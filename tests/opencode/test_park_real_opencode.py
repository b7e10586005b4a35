"""Park and resume with the real opencode and a real git worktree: the session goes on where it was.

One dev session in a worktree (the fake model answers `write FILE: TEXT` with opencode's `write` tool),
walked through in order: start -> park (the slot is freed; the worktree, branch and opencode session stay)
-> continue (resumed under the cap, then the message: the same opencode session id answers it, in the
worktree) -> park and `resume` (nothing sent) -> park and destroy (archived from parked/).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from .harness import REPO_ROOT, OpenCode, Result, init_git_project, write_kugetsu_home
from .test_worktrees_real_opencode import Flow

pytestmark = pytest.mark.opencode

REF, NAME = "github.com/acme/widgets#5", "github.com-acme-widgets-5"


class ParkFlow(Flow):
    @property
    def parked(self) -> Path:
        return self.home / "parked" / f"{NAME}.json"

    @property
    def file(self) -> Path:
        return self.home / "sessions" / f"{NAME}.json"

    def ls(self) -> dict:
        result = self.cli("ls", "--json")
        assert result.returncode == 0, result.describe()
        return json.loads(result.stdout)

    def park(self) -> Result:
        result = self.cli("park", REF)
        assert result.returncode == 0, result.describe()
        assert self.parked.is_file() and not self.file.exists()
        return result


@pytest.fixture(scope="module")
def flow(opencode_bin: Path, opencode_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    project = init_git_project(tmp_path_factory.mktemp("park-project"), opencode_env, "park project")
    oc = OpenCode(opencode_bin, opencode_env, project)
    base_id = oc.create_session("kugetsu base")
    home = write_kugetsu_home(tmp_path_factory.mktemp("kugetsu-home"), base_id)
    (home / "config.toml").write_text(
        f'max_concurrent_agents = 1\n[repos]\n"github.com/acme/widgets" = "{project}"\n', "utf-8"
    )
    env = dict(opencode_env, KUGETSU_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    state = ParkFlow(home, project, env, oc, base_id)
    yield state
    for path in (state.file, state.parked):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for key in ("supervisor_pid", "pid"):
            pid = data.get(key)
            if isinstance(pid, int) and pid > 1:
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass


def test_park_frees_the_slot_and_keeps_the_worktree_branch_and_opencode_session(flow: ParkFlow) -> None:
    result = flow.cli("start", REF, "write note.txt: before the park")
    assert result.returncode == 0, result.describe()
    sid = flow.wait_idle()["opencode_session_id"]
    flow.ids["sid"] = sid
    flow.park()
    listing = flow.ls()
    (row,) = [s for s in listing["sessions"] if s["name"] == NAME]
    assert listing["active"] == 0 and listing["parked"] == 1 and row["state"] == "parked"
    assert (flow.worktree / "note.txt").read_text() == "before the park\n"
    assert flow.git("rev-parse", "--abbrev-ref", "HEAD", cwd=flow.worktree) == "fix/issue-5"
    assert sid in flow.opencode.session_ids(cwd=flow.worktree)  # opencode still has it, untouched
    # The freed slot is really free, for the cap of 1: and the parked issue cannot get a second session.
    again = flow.cli("start", REF, "a second one")
    assert again.returncode == 1 and "has a parked session" in again.stderr, again.describe()


def test_continue_resumes_it_under_the_cap_and_the_same_opencode_session_answers(flow: ParkFlow) -> None:
    _need(flow)
    result = flow.cli("continue", REF, "write after.txt: after the park")
    assert result.returncode == 0, result.describe()
    assert flow.file.is_file() and not flow.parked.exists()
    data = flow.wait_idle()
    assert data["opencode_session_id"] == flow.ids["sid"] and "parked_at" not in data
    assert (flow.worktree / "after.txt").read_text() == "after the park\n", flow.log()
    texts = json.dumps(flow.opencode.export(flow.ids["sid"], cwd=flow.worktree)["messages"])
    assert "before the park" in texts and "after the park" in texts  # one transcript, going on
    assert flow.ls()["active"] == 1


def test_resume_takes_the_slot_back_and_sends_nothing(flow: ParkFlow) -> None:
    _need(flow)
    flow.park()
    before = flow.opencode.export(flow.ids["sid"], cwd=flow.worktree)["messages"]
    assert before  # the count below is of a real transcript
    result = flow.cli("resume", NAME)
    assert result.returncode == 0, result.describe()
    assert flow.file.is_file() and flow.session()["state"] == "idle"
    assert len(flow.opencode.export(flow.ids["sid"], cwd=flow.worktree)["messages"]) == len(before)


def test_destroy_of_a_parked_session_archives_it(flow: ParkFlow) -> None:
    _need(flow)
    flow.park()
    result = flow.cli("destroy", REF, "-y")
    assert result.returncode == 0, result.describe()
    assert not flow.parked.exists() and not flow.worktree.exists()
    (entry,) = (flow.home / "archive").glob(f"{NAME}--*")
    assert (entry / "export.json").is_file() and (entry / "session.json").is_file()
    assert flow.ids["sid"] not in flow.opencode.session_ids()


def _need(flow: ParkFlow) -> None:
    if "sid" not in flow.ids:
        pytest.fail("the start did not succeed: see the first failure in this module")
