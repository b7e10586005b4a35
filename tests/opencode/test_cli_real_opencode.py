"""End to end: our CLI (`python -m kugetsu_tui`) driving the real opencode against the fake model.

One kugetsu home and one opencode project for the whole module, walked through in order:
limit 2 -> start #1 -> start #2 -> start #3 refused (exit 2) -> continue #1 at capacity ->
destroy #1 (archived, opencode session deleted) -> start #3 allowed -> restore #1 refused at
capacity -> destroy #3 -> restore #1 (imported back, same id) -> continue the restored #1.

The CLI runs with the default agent templates (plain `opencode` on PATH), KUGETSU_HOME set, the
isolated opencode HOME/XDG dirs, and cwd (and PWD) = the opencode project holding the base session.
Worktrees are off here, so the starts fork with `opencode run --fork` (test_worktrees_real_opencode.py
covers starts in worktrees).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ls_session_keys

from .harness import REPO_ROOT, OpenCode, Result, init_git_project, run_command, write_kugetsu_home

pytestmark = pytest.mark.opencode

REF1, REF2, REF3 = "github.com/acme/widgets#1", "github.com/acme/widgets#2", "github.com/acme/widgets#3"
NAME1, NAME2, NAME3 = "github.com-acme-widgets-1", "github.com-acme-widgets-2", "github.com-acme-widgets-3"
AGENT_WAIT = 60.0
FAILED_GRACE = 3.0
CLI_TIMEOUT = 120.0
LS_KEYS = {"active", "limit", "queued", "sessions"}


@dataclass
class Flow:
    home: Path
    project: Path
    env: dict[str, str]
    opencode: OpenCode
    base_id: str
    ids: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None  # where ls runs (None: the project)
    others: list[Flow] = field(default_factory=list)  # further homes, cleaned up with this one

    # --- our CLI ---------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = CLI_TIMEOUT, cwd: Path | None = None) -> Result:
        """Our CLI with cwd (and PWD) = the project, unless told otherwise."""
        return run_command(
            [sys.executable, "-m", "kugetsu_tui", *args], env=self.env, cwd=cwd or self.project, timeout=timeout
        )

    def ls(self) -> dict[str, Any]:
        result = self.cli("ls", "--json", cwd=self.cwd)
        assert result.returncode == 0, result.describe()
        data = json.loads(result.stdout)
        check_ls_shape(data)
        return data

    def other_home(self, root: Path) -> Flow:
        """A second kugetsu home on the same base session and project."""
        home = write_kugetsu_home(root, self.base_id, worktrees=False)
        env = dict(self.env, KUGETSU_HOME=str(home))
        return Flow(home, self.project, env, self.opencode, self.base_id)

    def entry(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.ls()["sessions"] if s["name"] == name), None)

    def wait_idle(self, name: str, *, previous_id: str | None = None, timeout: float = AGENT_WAIT) -> dict[str, Any]:
        """Poll `ls --json` until the session has an opencode id and its agent is done (idle).

        A "failed" that turns "idle" within FAILED_GRACE seconds is the window between the agent's
        exit and its supervisor recording it (see test_ls_never_shows_a_finishing_agent_as_failed):
        tolerated here, so that one bug does not hide the rest of the flow.
        """
        deadline = time.monotonic() + timeout
        entry = None
        failed_since = None
        while time.monotonic() < deadline:
            entry = self.entry(name)
            assert entry is not None, f"{name} vanished from ls --json"
            if entry["state"] == "failed":
                failed_since = failed_since or time.monotonic()
                assert time.monotonic() - failed_since < FAILED_GRACE, f"{name} failed: {entry}\n{self.log(name)}"
                time.sleep(0.1)
                continue
            failed_since = None
            if entry["opencode_session_id"] and entry["state"] == "idle" and not entry["alive"]:
                if previous_id is None or entry["opencode_session_id"] == previous_id:
                    return entry
            time.sleep(0.5)
        pytest.fail(f"{name} not idle with an opencode id after {timeout:.0f}s: {entry}\n{self.log(name)}")

    def log(self, name: str) -> str:
        path = self.home / "logs" / f"{name}.log"
        try:
            return f"--- {path} ---\n" + path.read_text("utf-8", "replace")[-3000:]
        except OSError:
            return f"(no log at {path})"

    # --- the home on disk ------------------------------------------------------------------

    def session_files(self) -> set[str]:
        return {p.name for p in (self.home / "sessions").iterdir() if p.suffix == ".json"}

    def session_file(self, name: str) -> dict[str, Any]:
        return json.loads((self.home / "sessions" / f"{name}.json").read_text("utf-8"))

    def index(self) -> dict[str, Any]:
        return json.loads((self.home / "index.json").read_text("utf-8"))

    def archived_exports(self, session_id: str) -> list[Path]:
        """Files anywhere under archive/ whose JSON is an opencode export of session_id."""
        found: list[Path] = []
        archive = self.home / "archive"
        if not archive.is_dir():
            return found
        for path in archive.rglob("*"):
            if not path.is_file():
                continue
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("info"), dict) and data["info"].get("id") == session_id:
                found.append(path)
        return found

    def stop_leftover_agents(self) -> None:
        """Teardown: end the supervisors (and their agents) our starts left running, by pid."""
        for path in (self.home / "sessions").glob("*.json"):
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            for key in ("supervisor_pid", "pid"):
                pid = data.get(key) if isinstance(data, dict) else None
                if isinstance(pid, int) and pid > 1:
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except (ProcessLookupError, PermissionError):
                        pass


def check_ls_shape(data: Any) -> None:
    assert isinstance(data, dict) and LS_KEYS <= set(data), data
    assert set(data) - LS_KEYS <= {"limit_error", "queued", "parked"}, data
    assert isinstance(data["active"], int) and isinstance(data["sessions"], list)
    for session in data["sessions"]:
        assert set(session) == ls_session_keys(session["kind"]), session


@pytest.fixture(scope="module")
def flow(opencode_bin: Path, opencode_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    project = init_git_project(tmp_path_factory.mktemp("cli-project"), opencode_env, "cli project")
    oc = OpenCode(opencode_bin, opencode_env, project)
    base_id = oc.create_session("kugetsu base")
    home = write_kugetsu_home(tmp_path_factory.mktemp("kugetsu-home"), base_id, worktrees=False)
    env = dict(opencode_env)
    env["KUGETSU_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    state = Flow(home, project, env, oc, base_id)
    try:
        yield state
    finally:
        for each in [state, *state.others]:
            each.stop_leftover_agents()


def _need(flow: Flow, *names: str) -> None:
    missing = [n for n in names if n not in flow.ids]
    if missing:
        pytest.fail(f"an earlier step did not record {missing}: see the first failure in this module")


def test_limit_writes_config_toml(flow: Flow) -> None:
    result = flow.cli("limit", "2")
    assert result.returncode == 0, result.describe()
    config = (flow.home / "config.toml").read_text("utf-8")
    assert "max_concurrent_agents = 2" in config
    shown = flow.cli("limit")
    assert shown.returncode == 0 and shown.stdout.startswith("2 "), shown.describe()
    data = flow.ls()
    assert data["active"] == 0 and data["limit"] == 2
    assert [s["kind"] for s in data["sessions"]] == ["base"]
    assert data["sessions"][0]["opencode_session_id"] == flow.base_id


def test_start_forks_real_sessions(flow: Flow, fake_model) -> None:
    """Two starts under the limit of 2: each forks the base into a new, listed opencode session."""
    calls = fake_model.completions
    for ref, name in ((REF1, NAME1), (REF2, NAME2)):
        started = time.monotonic()
        result = flow.cli("start", ref, f"please fix {name}")
        print(
            f"\n[cli] start {ref}: exit {result.returncode} in {time.monotonic() - started:.2f}s: "
            f"{result.stdout.strip()}"
        )
        assert result.returncode == 0, result.describe()
        assert f"{name}.json" in flow.session_files()
        assert flow.index()["issues"].get(ref) == f"{name}.json"
        data = flow.session_file(name)
        assert data["type"] == "forked" and data["issue_ref"] == ref
    for ref, name in ((REF1, NAME1), (REF2, NAME2)):
        entry = flow.wait_idle(name)
        sid = entry["opencode_session_id"]
        assert sid.startswith("ses_") and sid != flow.base_id
        assert entry["kind"] == "dev" and entry["issue_ref"] == ref and entry["error"] is None
        assert flow.session_file(name)["opencode_session_id"] == sid
        flow.ids[name] = sid
    assert flow.ids[NAME1] != flow.ids[NAME2]
    listed = flow.opencode.session_ids()
    assert flow.ids[NAME1] in listed and flow.ids[NAME2] in listed and flow.base_id in listed
    assert fake_model.completions >= calls + 2
    sent = " ".join(fake_model.user_messages())
    assert f"please fix {NAME1}" in sent and f"please fix {NAME2}" in sent
    data = flow.ls()
    assert data["active"] == 2 and data["limit"] == 2


def test_third_start_is_refused_at_capacity(flow: Flow) -> None:
    _need(flow, NAME1, NAME2)
    files, issues = flow.session_files(), set(flow.index()["issues"])
    result = flow.cli("start", REF3, "one too many")
    assert result.returncode == 2, result.describe()
    assert "maximum concurrent agents (2) reached" in result.stderr
    assert flow.session_files() == files
    assert set(flow.index()["issues"]) == issues and REF3 not in issues
    assert flow.ls()["active"] == 2


def test_continue_at_capacity_grows_transcript(flow: Flow, fake_model) -> None:
    _need(flow, NAME1)
    sid = flow.ids[NAME1]
    before = flow.opencode.message_count(sid)
    result = flow.cli("continue", REF1, "and also the docs")
    assert result.returncode == 0, result.describe()
    entry = flow.wait_idle(NAME1, previous_id=sid)
    assert entry["opencode_session_id"] == sid
    after = flow.opencode.export(sid)
    assert len(after["messages"]) > before
    assert any("and also the docs" in m for m in fake_model.user_messages())
    assert flow.ls()["active"] == 2, "continue never takes a slot"


def test_destroy_archives_and_frees_a_slot(flow: Flow) -> None:
    _need(flow, NAME1)
    sid = flow.ids[NAME1]
    result = flow.cli("destroy", REF1, "-y")
    assert result.returncode == 0, result.describe()
    assert f"{NAME1}.json" not in flow.session_files()
    assert REF1 not in flow.index()["issues"]
    assert flow.archived_exports(sid), f"no export of {sid} under {flow.home / 'archive'}"
    assert sid not in flow.opencode.session_ids()
    assert flow.ls()["active"] == 1

    result = flow.cli("start", REF3, "now there is room")
    assert result.returncode == 0, result.describe()
    entry = flow.wait_idle(NAME3)
    flow.ids[NAME3] = entry["opencode_session_id"]
    assert flow.ls()["active"] == 2


def test_restore_is_refused_at_capacity(flow: Flow) -> None:
    _need(flow, NAME1, NAME3)
    files = flow.session_files()
    result = flow.cli("restore", NAME1)
    assert result.returncode == 2, result.describe()
    assert "maximum concurrent agents (2) reached" in result.stderr
    assert flow.session_files() == files
    assert flow.archived_exports(flow.ids[NAME1]), "the archive entry is kept"


def test_restore_brings_the_session_back(flow: Flow, fake_model) -> None:
    _need(flow, NAME1, NAME3)
    sid = flow.ids[NAME1]
    result = flow.cli("destroy", REF3, "-y")
    assert result.returncode == 0, result.describe()

    result = flow.cli("restore", NAME1)
    assert result.returncode == 0, result.describe()
    assert f"{NAME1}.json" in flow.session_files()
    assert flow.session_file(NAME1)["opencode_session_id"] == sid
    assert flow.index()["issues"].get(REF1) == f"{NAME1}.json"
    assert sid in flow.opencode.session_ids()
    exported = flow.opencode.export(sid)
    assert exported["info"]["directory"] == str(flow.project), "imported into the project it came from"
    entry = flow.entry(NAME1)
    assert entry is not None and entry["state"] == "idle" and entry["opencode_session_id"] == sid
    assert flow.ls()["active"] == 2

    # The restored session is usable: continuing it reaches the model and grows its transcript.
    before = len(exported["messages"])
    result = flow.cli("continue", NAME1, "back again")
    assert result.returncode == 0, result.describe()
    flow.wait_idle(NAME1, previous_id=sid)
    assert flow.opencode.message_count(sid) > before
    assert any("back again" in m for m in fake_model.user_messages())


def test_ls_never_shows_a_finishing_agent_as_failed(flow: Flow) -> None:
    """While an agent exits, its supervisor is still there to record the outcome: until it has,
    `ls` must not call the session failed ("agent process vanished without recording an exit
    status"). Watched from the inside (the core behind `ls --json`) every few milliseconds, since
    the window is ~0.1 s: the agent's pid is gone before the supervisor reads EOF and writes idle."""
    from kugetsu_tui.base.home import Home
    from kugetsu_tui.sessions.overview import overview

    _need(flow, NAME2)
    home = Home(flow.home)
    result = flow.cli("continue", REF2, "watch me finish")
    assert result.returncode == 0, result.describe()
    seen: list[tuple[str, str | None]] = []
    deadline = time.monotonic() + AGENT_WAIT
    while time.monotonic() < deadline:
        view = next(v for v in overview(home).sessions if v.session.name == NAME2)
        if not seen or seen[-1] != (view.shown_state, view.error):
            seen.append((view.shown_state, view.error))
        if view.shown_state == "idle":
            break
        time.sleep(0.005)
    assert seen and seen[-1][0] == "idle", seen
    assert "failed" not in [state for state, _ in seen], f"states seen by ls while the agent finished: {seen}"


def test_agent_cwd_is_honoured_when_called_from_elsewhere(flow: Flow, tmp_path: Path) -> None:
    """With `[agent] cwd` set to the base session's directory, start, destroy and restore work from
    any directory (continue launches its agent the same way start does). `opencode run` takes its
    directory from $PWD, so the agent needs PWD = its cwd: with the caller's PWD it forks, then
    prints nothing and never exits (no id recorded, a slot held until destroyed).
    """
    other = flow.other_home(tmp_path / "kugetsu-home-cwd")
    flow.others.append(other)
    (other.home / "config.toml").write_text(
        f"max_concurrent_agents = 2\n\n[agent]\ncwd = {json.dumps(str(flow.project))}\nstart_wait = 5\n\n"
        "[worktrees]\nenabled = false\n",
        "utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other.cwd = elsewhere
    result = other.cli("start", "github.com/acme/widgets#9", "from elsewhere", cwd=elsewhere)
    assert result.returncode == 0, result.describe()
    name = "github.com-acme-widgets-9"
    entry = other.wait_idle(name, timeout=30)
    sid = entry["opencode_session_id"]
    assert sid in flow.opencode.session_ids()
    assert flow.opencode.export(sid)["info"]["directory"] == str(flow.project)

    # destroy and restore from there too: the import must land in the project, not in `elsewhere`.
    result = other.cli("destroy", name, "-y", cwd=elsewhere)
    assert result.returncode == 0, result.describe()
    assert sid not in flow.opencode.session_ids()
    result = other.cli("restore", name, cwd=elsewhere)
    assert result.returncode == 0, result.describe()
    assert sid in flow.opencode.session_ids()
    assert flow.opencode.export(sid)["info"]["directory"] == str(flow.project)
