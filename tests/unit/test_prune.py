"""`prune --merged`: destroys exactly the done dev sessions (demo agent, real git, forge on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from kugetsu_tui.lifecycle.archive import list_archive
from kugetsu_tui.lifecycle.prune import plan_prune, prune
from kugetsu_tui.lifecycle.start import start_session
from kugetsu_tui.sessions.files import update_session
from tests.helpers import (
    PY,
    assert_one_line_error,
    cli_env,
    demo_agent_config,
    demo_store,
    dev_files,
    run_cli,
    session_data,
    wait_state,
)
from tests.unit.forge_server import Answer, forge_server, issue
from tests.unit.work_support import commit, git, make_repo, set_forge, work_on_feat

TOKEN = "SECRET-TOKEN-prune-91c2"
NAMES = {n: f"github.com-shoko-kugetsu-{n}" for n in range(1, 6)}
DONE = [NAMES[1], NAMES[3]]  # 1: branch squash-merged (git); 3: issue closed (forge)


@pytest.fixture
def server():
    with forge_server() as server:
        yield server


def start(home, number, **fields):
    start_session(home, f"github.com/shoko/kugetsu#{number}", "work on it")
    wait_state(home, NAMES[number], "idle", "running")
    update_session(home, NAMES[number], lambda data: data.update(fields))


@pytest.fixture
def prune_home(home, tmp_path, server, monkeypatch):
    """1 merged (git), 2 open (git and forge), 3 issue closed, 4 unknown (forge 500), 5 merged but running."""
    monkeypatch.setenv("MAX_CONCURRENT_AGENTS", "6")
    repo = make_repo(tmp_path)
    work_on_feat(repo)
    git(repo, "merge", "-q", "--squash", "feat")
    git(repo, "commit", "-q", "-m", "Feat (#1)")
    git(repo, "branch", "wip")
    git(repo, "checkout", "-q", "wip")
    (repo / "wip.txt").write_text("unfinished\n")
    git(repo, "add", "wip.txt")
    git(repo, "commit", "-q", "-m", "wip")
    git(repo, "checkout", "-q", "main")
    start(home, 1, branch_name="feat", repo=str(repo))
    start(home, 2, branch_name="wip", repo=str(repo))
    start(home, 3)
    start(home, 4)
    demo_agent_config(home, seconds=60)
    start(home, 5, branch_name="feat", repo=str(repo))
    assert session_data(home, NAMES[5])["state"] == "running"
    set_forge(home, {"github.com": {"api": server.url}})
    for number, state in ((1, "open"), (2, "open"), (3, "closed"), (5, "open")):
        server.routes[f"/repos/shoko/kugetsu/issues/{number}"] = Answer(body=issue(number, state, "completed"))
    server.routes["/repos/shoko/kugetsu/issues/4"] = Answer(500, b"oops")
    return home


def archived(home):
    return sorted(entry.session_name for entry in list_archive(home))


def test_dry_run_lists_the_done_sessions_and_changes_nothing(prune_home):
    result = run_cli(prune_home, "prune", "--merged", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[2] for line in lines if line.startswith("would destroy")] == DONE
    assert any(line.startswith(f"skipped {NAMES[5]}") and "its agent is running" in line for line in lines)
    assert "squash-merged into main" in result.stdout and "issue closed (completed)" in result.stdout
    data = json.loads(run_cli(prune_home, "prune", "--merged", "--dry-run", "--json").stdout)
    assert data["dry_run"] is True and data["destroyed"] == [] and data["error"] is None
    assert [d["name"] for d in data["done"]] == DONE
    assert [d["work"]["source"] for d in data["done"]] == ["git", "forge"]
    assert dev_files(prune_home) == sorted(f"{n}.json" for n in NAMES.values())
    assert archived(prune_home) == []


def test_prune_destroys_exactly_the_done_sessions_and_reports_the_running_one(prune_home, tmp_path):
    result = run_cli(prune_home, "prune", "--merged", "-y", "--json", env={"GITHUB_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["name"] for d in data["destroyed"]] == DONE
    assert [(s["name"], s["reason"]) for s in data["skipped"]] == [(NAMES[5], "its agent is running")]
    assert data["error"] is None and data["dry_run"] is False
    assert all(os.path.isdir(d["archive"]) for d in data["destroyed"])
    assert dev_files(prune_home) == sorted(f"{NAMES[n]}.json" for n in (2, 4, 5))
    assert archived(prune_home) == DONE
    assert TOKEN not in result.stdout + result.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_work_and_prune_ignore_git_variables_that_point_at_another_repository(prune_home, tmp_path):
    """Run from a git hook, GIT_DIR and the like name the hook's repository: every check must still ask ours."""
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    commit(other, "unrelated.txt", "another project\n")
    hook_env = {
        "GIT_DIR": str(other / ".git"),
        "GIT_WORK_TREE": str(other),
        "GIT_INDEX_FILE": str(other / ".git" / "index"),
        "GIT_OBJECT_DIRECTORY": str(other / ".git" / "objects"),
    }
    work = json.loads(run_cli(prune_home, "work", "--json", env=hook_env).stdout)
    by_name = {s["name"]: s["work"] for s in work["sessions"]}
    assert (by_name[NAMES[1]]["state"], by_name[NAMES[1]]["detail"]) == ("merged", "squash-merged into main")
    result = run_cli(prune_home, "prune", "--merged", "-y", "--json", env=hook_env)
    assert result.returncode == 0, result.stderr
    assert [d["name"] for d in json.loads(result.stdout)["destroyed"]] == DONE
    assert archived(prune_home) == DONE


def test_without_a_terminal_and_without_y_it_refuses_before_anything(prune_home, server):
    result = run_cli(prune_home, "prune", "--merged")
    assert_one_line_error(result, 1, "no terminal to confirm on", "-y")
    assert server.requests == []
    assert len(dev_files(prune_home)) == 5


def test_prune_needs_merged(prune_home):
    assert_one_line_error(run_cli(prune_home, "prune", "-y"), 1, "--merged")


@pytest.mark.parametrize(("answer", "code"), [(b"y\n", 0), (b"n\n", 1)])
def test_it_asks_once_on_a_terminal_listing_each_session_and_why(prune_home, answer, code):
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [PY, "-m", "kugetsu_tui", "prune", "--merged"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=cli_env(prune_home),
        close_fds=True,
    )
    os.close(slave)
    output = b""
    while b"[y/N]" not in output:
        output += os.read(master, 4096)
    os.write(master, answer)
    assert proc.wait(timeout=60) == code
    try:
        while chunk := os.read(master, 4096):
            output += chunk
    except OSError:
        pass
    os.close(master)
    text = output.decode()
    assert text.count("[y/N]") == 1
    assert f"{NAMES[1]} (github.com/shoko/kugetsu#1): squash-merged into main [git]" in text
    assert f"{NAMES[3]} (github.com/shoko/kugetsu#3): issue closed (completed) [forge]" in text
    assert "Destroy these 2 sessions?" in text
    if code == 0:
        assert archived(prune_home) == DONE
        assert f"destroyed {NAMES[1]}" in text
    else:
        assert "cancelled" in text and archived(prune_home) == []


def test_nothing_done_is_success_with_nothing_to_do(home, server):
    set_forge(home, {"github.com": {"api": server.url}})
    start(home, 2)
    server.routes["/repos/shoko/kugetsu/issues/2"] = Answer(body=issue(2, "open"))
    result = run_cli(home, "prune", "--merged", "-y")
    assert result.returncode == 0
    assert result.stdout.startswith("nothing to prune")
    assert dev_files(home) == [f"{NAMES[2]}.json"]


def test_an_error_stops_the_prune_and_what_was_destroyed_stays_destroyed(prune_home):
    transcript = demo_store(prune_home) / f"{session_data(prune_home, NAMES[3])['opencode_session_id']}.json"
    transcript.unlink()  # its export will fail: destroy refuses without a transcript
    result = run_cli(prune_home, "prune", "--merged", "-y")
    line = assert_one_line_error(result, 1, f"destroy {NAMES[3]}", "export")
    assert TOKEN not in line
    assert f"destroyed {NAMES[1]}" in result.stdout
    assert archived(prune_home) == [NAMES[1]]
    assert f"{NAMES[3]}.json" in dev_files(prune_home)


def test_the_core_skips_a_session_replaced_between_the_check_and_the_destroy(prune_home):
    plan = plan_prune(prune_home)
    assert [f.session.name for f in plan.done] == DONE
    update_session(prune_home, NAMES[3], lambda data: data.update(created_at="2026-12-01T12:00:00+00:00"))
    seen = []
    result = prune(prune_home, plan, on_destroyed=lambda finished, destroyed: seen.append(finished.session.name))
    assert [f.session.name for f, _ in result.destroyed] == [NAMES[1]] == seen
    assert (NAMES[3], "it was replaced by another session since the check") in [
        (s.finished.session.name, s.reason) for s in result.skipped
    ]
    assert result.error is None
    assert archived(prune_home) == [NAMES[1]]
