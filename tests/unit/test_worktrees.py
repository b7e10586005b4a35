"""Dev sessions in their own git worktrees: start, continue, destroy, restore and rollback, on real repos."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.lifecycle.archive import destroy_session, list_archive, restore_session
from kugetsu_tui.lifecycle.start import continue_session, start_session
from kugetsu_tui.worktrees.progress import worktree_progress
from tests.helpers import (
    PY,
    cli_env,
    demo_store,
    dev_files,
    read_index,
    run_cli,
    store_ids,
    wait_state,
)
from tests.unit.worktree_support import REPO_KEY, branches, configure, git, make_repo, worktree_paths

NAME1, NAME2 = "github.com-acme-widgets-1", "github.com-acme-widgets-2"


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "widgets")


@pytest.fixture
def wt_home(home, repo):
    configure(home, {REPO_KEY: str(repo)})
    return home


def start_and_wait(home, number, message="work"):
    start_session(home, f"acme/widgets#{number}", message)
    return wait_state(home, f"github.com-acme-widgets-{number}", "idle")


# --- start ----------------------------------------------------------------------------------------


def test_two_parallel_starts_get_two_worktrees_on_two_branches_and_keep_their_files_apart(wt_home, repo, tmp_path):
    procs = [
        subprocess.Popen(
            [PY, "-m", "kugetsu_tui", "start", f"acme/widgets#{n}", f"write notes/{n}.txt: from {n}"],
            env=cli_env(wt_home),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    one, two = wait_state(wt_home, NAME1, "idle"), wait_state(wt_home, NAME2, "idle")

    root = wt_home.root / "worktrees"
    assert (one["worktree_path"], one["branch_name"], one["repo"]) == (str(root / NAME1), "fix/issue-1", str(repo))
    assert (two["worktree_path"], two["branch_name"]) == (str(root / NAME2), "fix/issue-2")
    assert {"fix/issue-1", "fix/issue-2"} <= branches(repo)
    assert sorted(worktree_paths(repo)) == sorted([str(repo), str(root / NAME1), str(root / NAME2)])
    assert (root / NAME1 / "notes" / "1.txt").read_text() == "from 1\n"
    assert (root / NAME2 / "notes" / "2.txt").read_text() == "from 2\n"
    assert not (root / NAME1 / "notes" / "2.txt").exists() and not (root / NAME2 / "notes" / "1.txt").exists()
    assert not (repo / "notes").exists() and not (tmp_path / "notes").exists()
    # the agent ran in a copy of the base session that lives in the worktree, not in a fork made elsewhere
    stored = json.loads((demo_store(wt_home) / f"{one['opencode_session_id']}.json").read_text())
    assert stored["info"]["directory"] == one["worktree_path"] == one["cwd"]

    listing = json.loads(run_cli(wt_home, "ls", "--json").stdout)
    mine = {s["name"]: s for s in listing["sessions"]}
    assert mine[NAME1]["worktree_path"] == one["worktree_path"] and mine[NAME1]["branch_name"] == "fix/issue-1"
    assert mine[NAME1]["repo"] == str(repo) and mine["base"]["worktree_path"] is None


def test_continue_runs_in_the_worktree(wt_home, repo):
    data = start_and_wait(wt_home, 1)
    continue_session(wt_home, "acme/widgets#1", "write later.txt: second")
    wait_state(wt_home, NAME1, "idle")
    assert (wt_home.root / "worktrees" / NAME1 / "later.txt").read_text() == "second\n"
    assert not (repo / "later.txt").exists() and data["worktree_path"].endswith(NAME1)


def test_an_existing_branch_is_checked_out_as_it_is(wt_home, repo):
    git(repo, "branch", "fix/issue-1")
    git(repo, "commit", "-q", "--allow-empty", "-m", "main moves on")
    tip = git(repo, "rev-parse", "fix/issue-1")
    data = start_and_wait(wt_home, 1)
    assert git(repo, "rev-parse", "fix/issue-1") == tip == git(data["worktree_path"], "rev-parse", "HEAD")


def test_worktrees_off_runs_agents_in_the_agent_directory(home, repo, tmp_path):
    configure(home, {REPO_KEY: str(repo)}, {"enabled": False})
    data = start_and_wait(home, 1, "write here.txt: x")
    assert "worktree_path" not in data and (tmp_path / "here.txt").exists()
    assert branches(repo) == {"main"}


def test_the_agent_directory_is_the_repository_when_none_is_configured(home, repo):
    git(repo, "remote", "add", "origin", "https://github.com/someone/else.git")
    configure(home, {}, cwd=str(repo))
    launched = start_session(home, "acme/widgets#1", "write a.txt: a")
    data = wait_state(home, NAME1, "idle")
    assert data["repo"] == str(repo) and data["branch_name"] == "fix/issue-1"
    assert os.path.exists(os.path.join(data["worktree_path"], "a.txt")) and not (repo / "a.txt").exists()
    assert "someone/else" in (launched.warning or "")


def test_branch_template_placeholders_and_root(home, repo, tmp_path):
    configure(home, {REPO_KEY: str(repo)}, {"branch": "kugetsu/{owner}-{repo}-{number}", "root": str(tmp_path / "wt")})
    data = start_and_wait(home, 7)
    assert data["branch_name"] == "kugetsu/acme-widgets-7"
    assert data["worktree_path"] == str(tmp_path / "wt" / "github.com-acme-widgets-7")


# --- rollback -------------------------------------------------------------------------------------


def test_a_failed_launch_leaves_no_worktree_no_branch_and_no_opencode_session(home, repo):
    configure(home, {REPO_KEY: str(repo)}, fail=True)
    before = store_ids(demo_store(home))
    with pytest.raises(KugetsuError, match="the agent failed"):
        start_session(home, "acme/widgets#1", "work")
    assert dev_files(home) == [] and read_index(home)["issues"] == {}
    assert branches(repo) == {"main"} and worktree_paths(repo) == [str(repo)]
    assert not (home.root / "worktrees" / NAME1).exists()
    assert store_ids(demo_store(home)) == before


def test_a_failed_import_rolls_back_the_worktree(home, repo):
    configure(home, {REPO_KEY: str(repo)}, **{"import": [PY, "-c", "import sys; sys.exit('import broke')"]})
    result = run_cli(home, "start", "acme/widgets#1", "work")
    assert result.returncode == 1 and "import broke" in result.stderr and len(result.stderr.splitlines()) == 1
    assert branches(repo) == {"main"} and worktree_paths(repo) == [str(repo)] and dev_files(home) == []


# --- destroy and restore --------------------------------------------------------------------------


def make_work(worktree):
    """A modified tracked file, a new untracked file and an unmerged commit, with bytes that are not text."""
    (worktree / "committed.bin").write_bytes(b"\x00\x01commit\xff")
    git(worktree, "add", "committed.bin")
    git(worktree, "commit", "-q", "-m", "agent work")
    (worktree / "README.md").write_bytes(b"# widgets\nchanged \xe2\x9c\x93\r\nno newline")
    (worktree / "new dir").mkdir()
    (worktree / "new dir" / "untracked.dat").write_bytes(bytes(range(256)))
    (worktree / "ignored.log").write_text("ignored\n")


def snapshot(worktree):
    return {name: (worktree / name).read_bytes() for name in ("README.md", "committed.bin", "new dir/untracked.dat")}


@pytest.mark.parametrize("branch_deleted", [False, True], ids=["branch-kept", "branch-gone"])
def test_destroy_saves_the_work_and_restore_brings_it_back_byte_for_byte(wt_home, repo, branch_deleted):
    data = start_and_wait(wt_home, 1)
    worktree = wt_home.root / "worktrees" / NAME1
    make_work(worktree)
    before, head = snapshot(worktree), git(worktree, "rev-parse", "HEAD")

    destroyed = destroy_session(wt_home, "acme/widgets#1")
    saved = destroyed.entry.path / "worktree"
    assert not worktree.exists() and worktree_paths(repo) == [str(repo)]
    assert "fix/issue-1" in branches(repo)  # it holds a commit that is not on the base
    assert {p.name for p in saved.iterdir()} == {"meta.json", "commits.bundle", "uncommitted.patch", "untracked.tar"}
    meta = json.loads((saved / "meta.json").read_text())
    assert meta["commits_ahead"] == 1 and meta["untracked"] == ["new dir/untracked.dat"] and meta["head"] == head
    assert destroyed.entry.meta["worktree"]["branch_name"] == "fix/issue-1"
    if branch_deleted:
        git(repo, "branch", "-D", "fix/issue-1")

    restored = restore_session(wt_home, NAME1)
    assert restored.data["worktree_path"] == data["worktree_path"] and restored.recorded_state == "idle"
    assert snapshot(worktree) == before and git(worktree, "rev-parse", "HEAD") == head
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == "fix/issue-1"
    status = git(worktree, "status", "--porcelain", "--untracked-files=all")
    assert status == 'M README.md\n?? "new dir/untracked.dat"'  # modified and untracked again, nothing staged
    assert not (worktree / "ignored.log").exists()  # ignored files are not kept (build output, logs)
    assert list_archive(wt_home) == []


def test_destroy_deletes_a_branch_that_is_all_on_the_base(wt_home, repo):
    start_and_wait(wt_home, 1)
    destroy_session(wt_home, NAME1)
    assert branches(repo) == {"main"} and worktree_paths(repo) == [str(repo)]
    restore_session(wt_home, NAME1)  # and comes back on a new branch at the same commit
    assert "fix/issue-1" in branches(repo) and (wt_home.root / "worktrees" / NAME1 / "README.md").exists()


def test_destroy_changes_nothing_when_the_work_cannot_be_saved_unless_forced(wt_home, repo, tmp_path):
    start_and_wait(wt_home, 1)
    worktree = wt_home.root / "worktrees" / NAME1
    (worktree / "precious.txt").write_text("unsaved\n")
    no_git = {"PATH": str(tmp_path / "empty-path")}
    result = run_cli(wt_home, "destroy", "-y", NAME1, env=no_git)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "saving the worktree" in result.stderr and "git is not installed" in result.stderr
    assert dev_files(wt_home) == [f"{NAME1}.json"] and (worktree / "precious.txt").exists()
    assert list_archive(wt_home) == [] and not [p for p in wt_home.archive_dir.iterdir()]

    forced = run_cli(wt_home, "destroy", "-y", "--force", NAME1, env=no_git)
    assert forced.returncode == 0, forced.stderr
    assert "left in place" in forced.stderr and (worktree / "precious.txt").exists() and dev_files(wt_home) == []


def test_a_worktree_made_by_kugetsu_is_saved_and_removed_the_same_way(home, repo, tmp_path):
    configure(home, {})
    worktree = tmp_path / "kugetsu-worktrees" / "widgets-3"
    git(repo, "worktree", "add", "-q", "-b", "fix/issue-3", str(worktree))
    (worktree / "wip.txt").write_text("kugetsu's agent wrote this\n")
    from tests.helpers import write_session

    write_session(
        home,
        "github.com-acme-widgets-3",
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#3",
            "opencode_session_id": None,
            "state": "idle",
            "worktree_path": str(worktree),
            "branch_name": "fix/issue-3",
            "pr_url": None,
        },
    )
    destroyed = destroy_session(home, "acme/widgets#3")
    assert not worktree.exists() and "fix/issue-3" not in branches(repo)
    assert (destroyed.entry.path / "worktree" / "untracked.tar").exists()
    restore_session(home, "acme/widgets#3")
    assert (worktree / "wip.txt").read_text() == "kugetsu's agent wrote this\n"


def test_restore_refuses_when_the_worktree_path_is_taken_and_keeps_the_entry(wt_home, repo):
    start_and_wait(wt_home, 1)
    worktree = wt_home.root / "worktrees" / NAME1
    make_work(worktree)
    destroy_session(wt_home, NAME1)
    worktree.mkdir()
    (worktree / "someone else's").write_text("x")
    with pytest.raises(KugetsuError, match="path exists"):
        restore_session(wt_home, NAME1)
    assert dev_files(wt_home) == [] and len(list_archive(wt_home)) == 1
    assert (worktree / "someone else's").exists()


# --- progress (for the console's details pane) ----------------------------------------------------


def test_progress_counts_files_changed_and_commits_ahead(wt_home):
    data = start_and_wait(wt_home, 1)
    assert worktree_progress(data) == (0, 0, 0)
    make_work(wt_home.root / "worktrees" / NAME1)
    progress = worktree_progress(data)
    assert (progress.files_changed, progress.commits_ahead, progress.uncommitted) == (3, 1, 2)
    assert progress.summary() == "3 files changed (2 not committed), 1 commit ahead of the base"
    assert worktree_progress({"type": "forked"}) is None


def test_progress_leaves_the_worktrees_index_alone(wt_home):
    """The details pane asks every few seconds while an agent works there: it must never write its index."""
    data = start_and_wait(wt_home, 1)
    worktree = wt_home.root / "worktrees" / NAME1
    make_work(worktree)
    index = Path(git(worktree, "rev-parse", "--path-format=absolute", "--git-path", "index"))
    before = index.read_bytes()
    os.utime(index, (1, 1))  # older than the files: a refreshing `git status` rewrites it
    assert worktree_progress(data) is not None
    assert index.read_bytes() == before and index.stat().st_mtime == 1


def test_a_kugetsu_session_whose_opencode_directory_is_not_its_worktree_continues_in_that_directory(
    home, repo, tmp_path
):
    """kugetsu's later layout: the session lives in the base's directory, the agent is told its worktree."""
    from tests.helpers import create_demo_session, write_session

    configure(home, {})
    base_dir = tmp_path / "kugetsu-worktrees"
    worktree = base_dir / "widgets-4"
    git(repo, "worktree", "add", "-q", "-b", "fix/issue-4", str(worktree))
    os.chdir(base_dir)
    sid = create_demo_session(demo_store(home), "acme/widgets#4")  # filed under base_dir, as kugetsu's fork
    os.chdir(tmp_path)
    write_session(
        home,
        "github.com-acme-widgets-4",
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#4",
            "opencode_session_id": sid,
            "state": "idle",
            "worktree_path": str(worktree),
            "branch_name": "fix/issue-4",
        },
    )
    continue_session(home, "acme/widgets#4", "write from-agent.txt: here")
    data = wait_state(home, "github.com-acme-widgets-4", "idle")
    assert data["cwd"] == str(base_dir) and (base_dir / "from-agent.txt").exists()
    assert not (worktree / "from-agent.txt").exists() and not (tmp_path / "from-agent.txt").exists()


#: an agent that reports its session id, then works until stopped, and writes its last file when it is
LAST_WORDS_AGENT = """
import json, signal, sys, time
def stop(*_):
    open("last-words.txt", "w").write("written while stopping\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print(json.dumps({"type": "step_start", "timestamp": 1, "sessionID": sys.argv[1], "part": {}}), flush=True)
while True:
    time.sleep(0.1)
"""


def test_destroy_saves_again_after_stopping_the_agent_so_its_last_changes_are_kept(home, repo):
    configure(home, {REPO_KEY: str(repo)}, **{"continue": [PY, "-c", LAST_WORDS_AGENT, "{session_id}"]})
    start_session(home, "acme/widgets#1", "work")
    wait_state(home, NAME1, "running")
    worktree = home.root / "worktrees" / NAME1
    destroy_session(home, NAME1)
    assert not worktree.exists()
    restore_session(home, NAME1)
    assert (worktree / "last-words.txt").read_text() == "written while stopping\n"


def test_a_start_reuses_this_sessions_worktree_left_in_place_by_a_forced_destroy(wt_home, repo, tmp_path):
    start_and_wait(wt_home, 1, "write kept.txt: still here")
    result = run_cli(wt_home, "destroy", "-y", "--force", NAME1, env={"PATH": str(tmp_path / "no-git")})
    assert result.returncode == 0, result.stderr
    worktree = wt_home.root / "worktrees" / NAME1
    assert (worktree / "kept.txt").exists()
    data = start_and_wait(wt_home, 1, "write more.txt: again")
    assert data["worktree_path"] == str(worktree) and (worktree / "kept.txt").exists()
    assert (worktree / "more.txt").exists() and worktree_paths(repo) == [str(repo), str(worktree)]
