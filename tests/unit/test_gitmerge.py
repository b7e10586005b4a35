"""Local merge detection on real git repositories: merge commit, fast-forward, rebase, squash, and not merged."""

from __future__ import annotations

import pytest

from kugetsu_tui.work.git_merge import branch_merged, default_base
from kugetsu_tui.work.states import WorkState
from tests.helpers import tree_listing
from tests.unit.work_support import commit, git, make_repo, work_on_feat


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path)


def test_merge_commit_is_merged(repo):
    work_on_feat(repo)
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feat", "feat")
    assert branch_merged(repo, "feat", base="main") == (WorkState.MERGED, "merged into main")


def test_fast_forward_is_merged(repo):
    git(repo, "checkout", "-q", "feat")
    commit(repo, "feature.txt", "one\n")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "feat")
    assert branch_merged(repo, "feat", base="main").state == WorkState.MERGED


def test_rebase_merge_is_merged(repo):
    work_on_feat(repo)
    for sha in reversed(git(repo, "rev-list", "main..feat").split()):
        git(repo, "cherry-pick", sha)  # what a forge's "rebase and merge" does
    assert branch_merged(repo, "feat", base="main") == (WorkState.MERGED, "rebased into main")


def test_squash_merge_is_merged(repo):
    work_on_feat(repo)
    git(repo, "merge", "-q", "--squash", "feat")
    git(repo, "commit", "-q", "-m", "Feat (#12)")
    assert branch_merged(repo, "feat", base="main") == (WorkState.MERGED, "squash-merged into main")


def test_squash_merge_found_by_content_when_its_patch_differs(repo):
    """The squash commit also touched a file of its own (a changelog): its patch is not the branch's."""
    work_on_feat(repo)
    git(repo, "merge", "-q", "--squash", "feat")
    (repo / "CHANGELOG").write_text("- feat (#12)\n")
    git(repo, "add", "CHANGELOG")
    git(repo, "commit", "-q", "-m", "Feat (#12), with its changelog line")
    assert git(repo, "cherry", "main", "feat").count("+") == 2  # patch ids alone miss it
    assert branch_merged(repo, "feat", base="main") == (WorkState.MERGED, "its changes are all in main (squash merge)")


def test_unmerged_branch_is_open(repo):
    work_on_feat(repo)
    assert branch_merged(repo, "feat", base="main") == (WorkState.OPEN, "2 commits not in main")


def test_branch_without_commits_is_open_though_it_is_an_ancestor(repo):
    commit(repo, "other.txt", "base moved on\n")
    assert branch_merged(repo, "feat", base="main") == (WorkState.OPEN, "no commits on feat yet")


@pytest.mark.parametrize("merge", ["merge", "squash", "rebase"])
def test_merged_then_changed_again_is_open(repo, merge):
    work_on_feat(repo)
    if merge == "merge":
        git(repo, "merge", "-q", "--no-ff", "-m", "Merge feat", "feat")
    elif merge == "squash":
        git(repo, "merge", "-q", "--squash", "feat")
        git(repo, "commit", "-q", "-m", "Feat (#12)")
    else:
        for sha in reversed(git(repo, "rev-list", "main..feat").split()):
            git(repo, "cherry-pick", sha)
    assert branch_merged(repo, "feat", base="main").state == WorkState.MERGED
    git(repo, "checkout", "-q", "feat")
    commit(repo, "feature.txt", "one\nmore work after the merge\n")
    git(repo, "checkout", "-q", "main")
    answer = branch_merged(repo, "feat", base="main")
    assert answer.state == WorkState.OPEN, answer
    assert "not in main" in answer.detail


def test_merged_branch_with_uncommitted_changes_in_its_worktree_is_open(repo, tmp_path):
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree), "feat")
    commit(worktree, "feature.txt", "one\n")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feat", "feat")
    assert branch_merged(repo, "feat", base="main", worktree=worktree).state == WorkState.MERGED
    (worktree / "feature.txt").write_text("one\nnot committed\n")
    assert branch_merged(repo, "feat", base="main", worktree=worktree) == (
        WorkState.OPEN,
        "merged into main, but its worktree has uncommitted changes",
    )


def test_the_base_is_origin_head_else_the_main_checkouts_branch(repo, tmp_path):
    assert default_base(repo) == "main"
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert default_base(clone) == "origin/main"
    git(repo, "checkout", "-q", "feat")
    commit(repo, "feature.txt", "one\n")
    git(clone, "fetch", "-q")
    git(clone, "branch", "-q", "feat", "origin/feat")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feat", "feat")
    assert branch_merged(clone, "feat").state == WorkState.OPEN  # origin/main has not been fetched since the merge
    git(clone, "fetch", "-q")
    assert branch_merged(clone, "feat") == (WorkState.MERGED, "merged into origin/main")


def test_a_remote_branch_is_used_when_there_is_no_local_one(repo, tmp_path):
    work_on_feat(repo)
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feat", "feat")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert branch_merged(clone, "feat") == (WorkState.MERGED, "merged into origin/main")


def test_the_checks_write_nothing_into_the_repository(repo):
    work_on_feat(repo)
    git(repo, "merge", "-q", "--squash", "feat")
    git(repo, "commit", "-q", "-m", "Feat (#12)")
    before = tree_listing(repo)
    for name in ("feat", "main"):
        branch_merged(repo, name, base="main", worktree=repo)
    assert tree_listing(repo) == before


@pytest.mark.parametrize(
    "case", ["no repository", "not a repository", "no branch", "no base", "option-like", "range", "revision expression"]
)
def test_what_cannot_be_checked_is_unknown_with_the_reason(repo, tmp_path, case):
    target, branch, base, needle = repo, "feat", "main", ""
    if case == "no repository":
        target, needle = tmp_path / "missing", "not found"
    elif case == "not a repository":
        target = tmp_path / "plain"
        target.mkdir()
        needle = "not a git repository"
    elif case == "no branch":
        branch, needle = "gone", "branch gone not found"
    elif case == "no base":
        base, needle = "nope", "base nope not found"
    elif case == "option-like":
        branch, needle = "--all", "not a valid branch name"
    elif case == "range":
        branch, needle = "main..feat", "not a valid branch name"
    else:
        branch, needle = "main~1", "not a valid branch name"
    answer = branch_merged(target, branch, base=base)
    assert answer.state == WorkState.UNKNOWN
    assert needle in answer.detail, answer.detail
