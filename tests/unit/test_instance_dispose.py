"""Destroying a session whose directory was a worktree frees that directory's instance in `[agent] server`
(POST /instance/dispose); a server that fails or is down is a warning line, never a failed destroy. The real
`opencode serve` is in tests/opencode/test_instances_real_opencode.py. Parking frees it too."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.lifecycle.archive import destroy_session
from kugetsu_tui.lifecycle.park import park_session, resume_session
from kugetsu_tui.opencode.instances import dispose_instance
from kugetsu_tui.opencode.settings import load_agent_config
from tests.helpers import dev_files, run_cli, write_session
from tests.unit.opencode_server_fake import Answer, fake_opencode_server
from tests.unit.test_opencode_server import free_port
from tests.unit.worktree_support import configure, git, make_repo

NAME = "github.com-acme-widgets-3"


@pytest.fixture
def worktree(home: Home, tmp_path: Path) -> Path:
    """A session made by kugetsu in a worktree of its own (no opencode session id: nothing to export)."""
    repo = make_repo(tmp_path / "widgets")
    path = tmp_path / "kugetsu-worktrees" / "widgets 3"
    git(repo, "worktree", "add", "-q", "-b", "fix/issue-3", str(path))
    write_session(
        home,
        NAME,
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#3",
            "opencode_session_id": None,
            "state": "idle",
            "worktree_path": str(path),
            "branch_name": "fix/issue-3",
        },
    )
    return path


def disposals(requests: list) -> list[str]:
    return [r.headers.get("x-opencode-directory", "") for r in requests if r.path == "/instance/dispose"]


def test_destroy_frees_the_worktrees_instance(home: Home, worktree: Path) -> None:
    with fake_opencode_server() as fake:
        fake.routes[("POST", "/instance/dispose")] = Answer(200, True)
        configure(home, {}, server=fake.url)
        destroyed = destroy_session(home, NAME)
        assert disposals(fake.requests) == [quote(str(worktree), safe="/")]
    assert destroyed.warnings == [] and not worktree.exists() and dev_files(home) == []


@pytest.mark.parametrize("failure", ["HTTP 500", "connection refused"])
def test_a_failed_dispose_is_a_warning_and_the_destroy_is_done(home: Home, worktree: Path, failure: str) -> None:
    with fake_opencode_server() as fake:
        fake.routes[("POST", "/instance/dispose")] = Answer(500, {"message": "boom"})
        url = fake.url if failure == "HTTP 500" else f"http://127.0.0.1:{free_port()}"
        configure(home, {}, server=url)
        result = run_cli(home, "destroy", NAME, "-y")
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "instance of" in line]
    assert len(warning) == 1 and f"instance of {worktree} was not freed" in warning[0] and failure in warning[0]
    assert "Traceback" not in result.stderr and dev_files(home) == [] and not worktree.exists()


def test_a_session_without_a_worktree_or_a_home_without_a_server_asks_nothing(home: Home) -> None:
    write_session(home, NAME, {"type": "forked", "issue_ref": "github.com/acme/widgets#3", "state": "idle"})
    with fake_opencode_server() as fake:
        configure(home, {}, server=fake.url)
        destroy_session(home, NAME)
        assert disposals(fake.requests) == []
    configure(home, {})
    assert dispose_instance(load_agent_config(home), "/anywhere") is None  # no server: nothing to free


def test_park_frees_the_worktrees_instance_and_a_failure_is_a_warning(home: Home, worktree: Path) -> None:
    """A parked session's agent runs nowhere until it is resumed: its worktree's instance is freed too."""
    with fake_opencode_server() as fake:
        fake.routes[("POST", "/instance/dispose")] = Answer(200, True)
        configure(home, {}, server=fake.url)
        parked = park_session(home, NAME, waiting=lambda _s: None, activity=lambda _s: None)
        assert disposals(fake.requests) == [quote(str(worktree), safe="/")]
    assert parked.warnings == [] and worktree.exists() and dev_files(home) == []
    resume_session(home, NAME)
    configure(home, {}, server=f"http://127.0.0.1:{free_port()}")
    parked = park_session(home, NAME, waiting=lambda _s: None, activity=lambda _s: None)
    assert len(parked.warnings) == 1 and f"instance of {worktree} was not freed" in parked.warnings[0]
    assert parked.session.path.parent == home.parked_dir and worktree.exists()
