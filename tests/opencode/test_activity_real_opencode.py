"""Our CLI with the real opencode and no server: the directory guard, and a permission `opencode run` denied.

The project's opencode.json leaves edits at "ask"; `opencode run` answers every ask itself with
reject, so an agent told to write a file is refused, and `ls --json` says so.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for

from .harness import (
    REPO_ROOT,
    OpenCode,
    Result,
    ServeProcess,
    free_port,
    init_git_project,
    run_command,
    write_kugetsu_home,
)

pytestmark = pytest.mark.opencode

REF, NAME = "github.com/acme/widgets#12", "github.com-acme-widgets-12"


class Home:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env

    def cli(self, *args: str, cwd: Path) -> Result:
        return run_command([sys.executable, "-m", "kugetsu_tui", *args], env=self.env, cwd=cwd, timeout=120)

    def ls(self, cwd: Path) -> dict[str, Any]:
        result = self.cli("ls", "--json", cwd=cwd)
        assert result.returncode == 0, result.describe()
        return {s["name"]: s for s in json.loads(result.stdout)["sessions"]}


@pytest.fixture
def ask_home(opencode: OpenCode, opencode_env: dict[str, str], tmp_path: Path):
    project = init_git_project(tmp_path / "project", opencode_env, "ask project")
    (project / "opencode.json").write_text(json.dumps({"permission": {"edit": "ask"}}), "utf-8")
    base_id = OpenCode(opencode.binary, opencode.env, project).create_session("kugetsu base")
    # Worktrees off: these tests are about opencode's own asks and the server, in the base's project.
    root = write_kugetsu_home(tmp_path / "kugetsu", base_id, worktrees=False)
    env = dict(opencode_env, KUGETSU_HOME=str(root))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    home = Home(root, env)
    try:
        yield home, project, base_id
    finally:
        from tests.helpers import kill_recorded_processes

        kill_recorded_processes(root)


def test_start_from_another_directory_is_refused_naming_the_base_sessions_directory(ask_home, tmp_path):
    home, project, base_id = ask_home
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = home.cli("start", REF, "hello", cwd=elsewhere)
    assert refused.returncode == 1, refused.describe()
    assert f"belongs to the directory {project}" in refused.stderr and "Traceback" not in refused.stderr
    assert not (home.root / "sessions" / f"{NAME}.json").exists()
    # The directory was learned from the real `opencode export` (run from elsewhere) and kept in our file.
    assert json.loads((home.root / "session-dirs.json").read_text()) == {base_id: str(project)}
    started = home.cli("start", REF, "hello", cwd=project)
    assert started.returncode == 0, started.describe()


def test_a_permission_opencode_run_denied_shows_in_ls(ask_home):
    home, project, _ = ask_home
    started = home.cli("start", REF, "[write denied.txt] please", cwd=project)
    assert started.returncode == 0, started.describe()
    entry = wait_for(lambda: (s := home.ls(project)[NAME])["state"] == "idle" and s, timeout=90, interval=0.5)
    assert entry["activity"]["state"] == "denied"
    assert entry["activity"]["detail"] == "edit denied: denied.txt"
    assert not (project / "denied.txt").exists()
    log = (home.root / "logs" / f"{NAME}.log").read_text()
    assert "auto-rejecting" in log  # opencode's own words on stderr, kept in the log too


@pytest.fixture
def served_home(ask_home, opencode: OpenCode):
    home, project, base_id = ask_home
    serve = ServeProcess(opencode, project, free_port()).start()
    (home.root / "config.toml").write_text(
        f'[agent]\nserver = "{serve.url}"\n\n[worktrees]\nenabled = false\n', "utf-8"
    )
    try:
        yield home, project, serve
    finally:
        serve.kill()


def answer_the_ask(home: Home, project: Path, answer: str) -> dict[str, Any]:
    """Wait until the session waits for a permission (ls and permissions agree), answer it, wait until idle."""

    def pending() -> list[dict[str, Any]]:
        result = home.cli("permissions", "--json", cwd=project)
        assert result.returncode == 0, result.describe()
        return [p for p in json.loads(result.stdout)["permissions"] if p["session"] == NAME]

    [ask] = wait_for(pending, timeout=90, interval=0.5)
    # ls gives the server 2 s: on a loaded machine an answer may come late (unknown); it is asked again.
    entry = wait_for(
        lambda: (s := home.ls(project)[NAME])["activity"]["state"] == "needs_input" and s, timeout=60, interval=0.5
    )
    assert entry["state"] == "running"
    assert ask["id"] in entry["activity"]["detail"]
    answered = home.cli("permissions", answer, ask["id"], cwd=project)
    assert answered.returncode == 0, answered.describe()
    return wait_for(lambda: (s := home.ls(project)[NAME])["state"] == "idle" and s, timeout=90, interval=0.5)


def test_start_and_continue_through_the_server_wait_for_the_operators_answer(served_home):
    home, project, serve = served_home
    started = home.cli("start", REF, "[write allowed.txt] please", cwd=project)
    assert started.returncode == 0, started.describe()
    assert "opencode session ses_" in started.stdout
    done = answer_the_ask(home, project, "allow")
    assert (project / "allowed.txt").read_text() == "written by the fake model"
    assert done["activity"]["state"] == "idle"

    continued = home.cli("continue", REF, "[write rejected.txt] please", cwd=project)
    assert continued.returncode == 0, continued.describe()
    answer_the_ask(home, project, "reject")
    assert not (project / "rejected.txt").exists()
    log = (home.root / "logs" / f"{NAME}.log").read_text()
    assert '"event": "permission.asked"' in log  # the server's events for the session, in its log


async def test_the_console_shows_the_pending_ask_and_a_allows_it(served_home):
    """needs_input in the Activity column from the real server's events, answered with `a` from the keyboard."""
    from kugetsu_tui.base.home import Home as KugetsuHome
    from kugetsu_tui.console.app import KugetsuConsole
    from kugetsu_tui.console.session_table import SessionTable
    from tests.helpers import wait_until

    home, project, serve = served_home
    started = home.cli("start", REF, "[write from-console.txt] please", cwd=project)
    assert started.returncode == 0, started.describe()
    app = KugetsuConsole(KugetsuHome(home.root), check_work=False)

    def activity() -> str:
        cells = app.query_one(SessionTable).cells(NAME)
        return "" if cells is None else cells["activity"].plain

    async with app.run_test(size=(200, 30)) as pilot:
        await wait_until(pilot, lambda: activity().startswith("needs_input"), 90, "the ask in the Activity column")
        assert "edit" in activity() and "needs you" in app.title  # the one session waits for the operator
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(NAME))
        await pilot.press("a")
        await wait_until(pilot, lambda: (project / "from-console.txt").exists(), 90, "the allowed write")
        assert (project / "from-console.txt").read_text() == "written by the fake model"
