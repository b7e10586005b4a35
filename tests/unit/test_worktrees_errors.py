"""Every way a worktree cannot be made: one clear line, exit 1, and nothing left behind."""

from __future__ import annotations

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.worktrees.settings import load_worktree_settings
from tests.helpers import assert_one_line_error, demo_store, dev_files, read_index, run_cli, store_ids
from tests.unit.worktree_support import REPO_KEY, branches, configure, git, make_repo, worktree_paths

NAME = "github.com-acme-widgets-7"


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "widgets")


def assert_nothing_made(home, repo=None):
    assert dev_files(home) == [] and read_index(home)["issues"] == {}
    assert not (home.root / "worktrees" / NAME).exists()
    if repo is not None:
        assert branches(repo) == {"main"} and worktree_paths(repo) == [str(repo)]


def test_git_not_installed(home, repo, tmp_path):
    configure(home, {REPO_KEY: str(repo)})
    result = run_cli(home, "start", "acme/widgets#7", "work", env={"PATH": str(tmp_path / "no-git-here")})
    assert_one_line_error(result, 1, "git is not installed", "apt-get install git", "enabled = false")
    assert_nothing_made(home, repo)


def test_a_bare_repository(home, tmp_path):
    bare = tmp_path / "widgets.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    configure(home, {REPO_KEY: str(bare)})
    assert_one_line_error(run_cli(home, "start", "acme/widgets#7", "work"), 1, "bare repository", str(bare))
    assert_nothing_made(home)


def test_a_repos_path_that_is_not_a_git_work_tree(home, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    configure(home, {REPO_KEY: str(plain)})
    assert_one_line_error(run_cli(home, "start", "acme/widgets#7", "work"), 1, "not a git work tree", str(plain))
    configure(home, {REPO_KEY: str(tmp_path / "missing")})
    assert_one_line_error(run_cli(home, "start", "acme/widgets#7", "work"), 1, "is not a directory")
    assert_nothing_made(home)


def test_a_target_path_that_exists_and_is_not_this_sessions_worktree(home, repo):
    configure(home, {REPO_KEY: str(repo)})
    occupied = home.root / "worktrees" / NAME
    occupied.mkdir(parents=True)
    (occupied / "mine.txt").write_text("keep me\n")
    assert_one_line_error(run_cli(home, "start", "acme/widgets#7", "work"), 1, "the path exists", str(occupied))
    assert (occupied / "mine.txt").read_text() == "keep me\n"
    assert dev_files(home) == [] and branches(repo) == {"main"}


def test_a_branch_checked_out_in_another_worktree(home, repo, tmp_path):
    configure(home, {REPO_KEY: str(repo)})
    elsewhere = tmp_path / "by-hand"
    git(repo, "worktree", "add", "-q", "-b", "fix/issue-7", str(elsewhere))
    assert_one_line_error(
        run_cli(home, "start", "acme/widgets#7", "work"), 1, "fix/issue-7", "already checked out", str(elsewhere)
    )
    assert dev_files(home) == [] and not (home.root / "worktrees" / NAME).exists()


@pytest.mark.parametrize(
    "template, needle",
    [
        ("fix/..{number}", "git refuses"),
        ("fix/issue {number}", "git refuses"),
        ("fix/{nope}", "unknown placeholder {nope}"),
        ("fix/{number", "unbalanced braces"),
        ("", "empty"),
    ],
)
def test_an_invalid_branch_template(home, repo, template, needle):
    configure(home, {REPO_KEY: str(repo)}, {"branch": template})
    before = store_ids(demo_store(home))
    assert_one_line_error(run_cli(home, "start", "acme/widgets#7", "work"), 1, "invalid branch template", needle)
    assert_nothing_made(home, repo)
    assert store_ids(demo_store(home)) == before


def test_a_base_that_is_not_a_commit(home, repo):
    configure(home, {REPO_KEY: str(repo)}, {"base": "no-such-branch"})
    assert_one_line_error(run_cli(home, "start", "acme/widgets#7", "work"), 1, "no-such-branch", "not a commit")
    assert_nothing_made(home, repo)


@pytest.mark.parametrize(
    "toml, needle",
    [
        ('[worktrees]\nenabled = "yes"\n', "enabled must be true or false"),
        ('[worktrees]\nroot = "relative/dir"\n', "root must be an absolute path"),
        ("[worktrees]\nroot = 3\n", "root must be a directory path string"),
        ("[worktrees]\nbranch = 7\n", "branch must be a string"),
        ('[worktrees]\nbase = "--force"\n', "base must be a branch or commit name"),
        ('[worktrees]\nroots = "/x"\n', "unknown key 'roots'"),
        ("worktrees = 1\n", "[worktrees] must be a table"),
        ('[repos]\n"acme/widgets" = "/x"\n', 'must look like "github.com/owner/repo"'),
        ('[repos]\n"github.com/acme/widgets" = "relative"\n', "the path must be absolute"),
        ('[repos]\n"github.com/acme/widgets" = 3\n', "must be the path of a git checkout"),
        ("repos = []\n", "[repos] must be a table"),
    ],
)
def test_bad_configuration_is_a_clear_error(home, toml, needle):
    home.config_toml.write_text(toml)
    with pytest.raises(KugetsuError) as raised:
        load_worktree_settings(home)
    assert needle in str(raised.value) and str(home.config_toml) in str(raised.value)


def test_the_defaults(home):
    settings = load_worktree_settings(home)
    assert settings.enabled and settings.root == home.root / "worktrees"
    assert settings.branch == "fix/issue-{number}" and settings.base == "" and settings.repos == {}


def test_a_worktree_root_that_cannot_be_created_rolls_the_start_back(home, repo, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    configure(home, {REPO_KEY: str(repo)}, {"root": str(blocker / "worktrees")})
    assert_one_line_error(run_cli(home, "start", "acme/widgets#7", "work"), 1, "cannot create the worktree root")
    assert_nothing_made(home, repo)
