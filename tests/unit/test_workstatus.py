"""Work status: the combination rule, the cache in the home, `work` and `ls --json` (cache only)."""

from __future__ import annotations

import json

import pytest

from kugetsu_tui.sessions.files import read_session
from kugetsu_tui.work.forge import ForgeAnswer
from kugetsu_tui.work.git_merge import GitAnswer
from kugetsu_tui.work.states import WorkState
from kugetsu_tui.work.status import (
    NOT_CHECKED,
    WORK_FILE,
    WorkStatus,
    browse_url,
    check_work,
    combine,
    read_work,
    work_for,
)
from tests.helpers import assert_one_line_error, run_cli, write_session
from tests.unit.forge_server import Answer, forge_server, github_pr, issue
from tests.unit.work_support import git, make_repo, set_forge, work_on_feat

TOKEN = "SECRET-TOKEN-77aa01"
F_MERGED, F_CLOSED = (
    ForgeAnswer(WorkState.MERGED, "PR #3 merged", "u"),
    ForgeAnswer(WorkState.CLOSED, "issue closed", "u"),
)
F_OPEN, F_UNKNOWN = ForgeAnswer(WorkState.OPEN, "PR #3 open", "u"), ForgeAnswer(WorkState.UNKNOWN, "no answer", "u")
G_MERGED, G_OPEN, G_UNKNOWN = (
    GitAnswer(WorkState.MERGED, "rebased into main"),
    GitAnswer(WorkState.OPEN, "2 commits not in main"),
    GitAnswer(WorkState.UNKNOWN, "branch x not found"),
)


@pytest.mark.parametrize(
    ("forge", "git_answer", "expected"),
    [
        (F_MERGED, G_OPEN, ("merged", "forge", "PR #3 merged")),
        (F_CLOSED, G_OPEN, ("closed", "forge", "issue closed")),
        (F_OPEN, G_MERGED, ("merged", "git", "rebased into main")),
        (F_UNKNOWN, G_MERGED, ("merged", "git", "rebased into main")),
        (F_OPEN, G_UNKNOWN, ("open", "forge", "PR #3 open")),
        (F_UNKNOWN, G_OPEN, ("open", "git", "2 commits not in main")),
        (None, G_OPEN, ("open", "git", "2 commits not in main")),
        (F_UNKNOWN, G_UNKNOWN, ("unknown", None, "forge: no answer; git: branch x not found")),
        (None, None, ("unknown", None, "no source to ask")),
    ],
)
def test_done_beats_open_beats_unknown(forge, git_answer, expected):
    status = combine(forge, git_answer, "2026-12-01T10:00:00+00:00")
    assert (status.state, status.source, status.detail) == expected
    assert status.done == (expected[0] in ("merged", "closed"))


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (WorkStatus(WorkState.OPEN, "forge", "PR #12 open", None, None), "PR #12 open"),
        (WorkStatus(WorkState.CLOSED, "forge", "issue closed (completed)", None, None), "issue closed"),
        (WorkStatus(WorkState.MERGED, "git", "squash-merged into main", None, None), "merged"),
        (WorkStatus(WorkState.UNKNOWN, None, "forge: 500", None, None), "?"),
    ],
)
def test_labels_for_a_table_cell(status, label):
    assert status.label == label


@pytest.fixture
def server():
    with forge_server() as server:
        yield server


@pytest.fixture
def work_home(home, tmp_path, server):
    """Three dev sessions: a squash-merged branch, an open PR, and one whose forge answers 500."""
    repo = make_repo(tmp_path)
    work_on_feat(repo)
    git(repo, "merge", "-q", "--squash", "feat")
    git(repo, "commit", "-q", "-m", "Feat (#1)")
    set_forge(home, {"github.com": {"api": server.url}})
    write_session(
        home, "github.com-shoko-kugetsu-1", issue_ref="github.com/shoko/kugetsu#1", branch_name="feat", repo=str(repo)
    )
    write_session(
        home,
        "github.com-shoko-kugetsu-2",
        issue_ref="github.com/shoko/kugetsu#2",
        pr_url="https://github.com/shoko/kugetsu/pull/20",
        created_at="2026-03-29T19:00:00+02:00",
    )
    write_session(
        home,
        "github.com-shoko-kugetsu-3",
        issue_ref="github.com/shoko/kugetsu#3",
        created_at="2026-03-29T20:00:00+02:00",
    )
    server.routes["/repos/shoko/kugetsu/issues/1"] = Answer(body=issue(1, "open"))
    server.routes["/repos/shoko/kugetsu/pulls/20"] = Answer(body=github_pr(20, "open"))
    server.routes["/repos/shoko/kugetsu/issues/3"] = Answer(500, b"oops")
    return home


def test_check_work_checks_every_dev_session_and_caches_the_results(work_home, server):
    results = {s.name: w for s, w in check_work(work_home)}
    assert {name: (w.state, w.source, w.detail) for name, w in results.items()} == {
        "github.com-shoko-kugetsu-1": ("merged", "git", "squash-merged into main"),
        "github.com-shoko-kugetsu-2": ("open", "forge", "PR #20 open"),
        "github.com-shoko-kugetsu-3": (
            "unknown",
            None,
            (
                f"forge: {server.url} failed with 500 on "
                "/repos/shoko/kugetsu/issues/3; git: the session names no branch_name and "
                "repo or worktree_path"
            ),
        ),
    }
    assert all(w.checked_at for w in results.values())
    cache = read_work(work_home)
    for name, status in results.items():
        assert work_for(cache, read_session(work_home.session_path(name))) == status


def test_the_cache_belongs_to_the_session_it_was_checked_for(work_home):
    check_work(work_home)
    name = "github.com-shoko-kugetsu-2"
    write_session(work_home, name, issue_ref="github.com/shoko/kugetsu#2", created_at="2026-12-01T09:00:00+00:00")
    assert work_for(read_work(work_home), read_session(work_home.session_path(name))).detail == "not checked yet"


@pytest.mark.parametrize("state", ["paused", "MERGED", None, ["merged"], {"merged": 1}])
def test_a_cached_state_that_is_no_work_state_is_not_checked(home, state):
    session = read_session(write_session(home, "github.com-shoko-kugetsu-5", issue_ref="github.com/shoko/kugetsu#5"))
    entry = {"issue_ref": session.issue_ref, "created_at": session.created_at}
    assert work_for({session.name: {**entry, "work": {"state": state}}}, session) == NOT_CHECKED
    assert work_for({session.name: {**entry, "work": {"state": "closed"}}}, session).state is WorkState.CLOSED


def test_ls_json_adds_work_from_the_cache_without_asking_anyone(work_home, server):
    before = run_cli(work_home, "ls", "--json")
    dev = [s for s in json.loads(before.stdout)["sessions"] if s["kind"] == "dev"]
    assert [s["work"] for s in dev] == [
        {"state": "unknown", "source": None, "detail": "not checked yet", "url": None, "checked_at": None}
    ] * 3
    assert run_cli(work_home, "work").returncode == 0
    asked = len(server.requests)
    sessions = json.loads(run_cli(work_home, "ls", "--json").stdout)["sessions"]
    assert len(server.requests) == asked
    assert "work" not in sessions[0] and sessions[0]["kind"] == "base"
    by_name = {s["name"]: s["work"] for s in sessions[1:]}
    assert by_name["github.com-shoko-kugetsu-1"]["state"] == "merged"
    assert by_name["github.com-shoko-kugetsu-2"] == {
        **by_name["github.com-shoko-kugetsu-2"],
        "state": "open",
        "source": "forge",
        "detail": "PR #20 open",
        "url": "https://github.com/shoko/kugetsu/pull/20",
    }
    assert by_name["github.com-shoko-kugetsu-2"]["checked_at"]


def test_ls_imports_neither_the_forge_nor_git_nor_urllib(work_home):
    result = run_cli(work_home, "ls", "--json", python_flags=["-X", "importtime"])
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert "kugetsu_tui.work.status" in imported  # the probe sees our modules
    assert not imported & {"kugetsu_tui.work.forge", "kugetsu_tui.work.git_merge", "urllib.request", "http.client"}


def test_work_prints_each_session_and_json_says_the_same(work_home):
    text = run_cli(work_home, "work")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["NAME", "WORK", "SOURCE", "DETAIL", "URL"]
    assert lines[1].split()[:3] == ["github.com-shoko-kugetsu-1", "merged", "git"]
    assert "PR #20 open" in lines[2] and "https://github.com/shoko/kugetsu/pull/20" in lines[2]
    data = json.loads(run_cli(work_home, "work", "--json").stdout)
    assert [(s["name"], s["work"]["state"]) for s in data["sessions"]] == [
        ("github.com-shoko-kugetsu-1", "merged"),
        ("github.com-shoko-kugetsu-2", "open"),
        ("github.com-shoko-kugetsu-3", "unknown"),
    ]


def test_work_never_shows_or_stores_the_token(work_home, server, tmp_path):
    server.routes["/repos/shoko/kugetsu/issues/3"] = Answer(401, {"message": "Bad credentials"}, etag='"z"')
    results = [run_cli(work_home, "work", *flags, env={"GITHUB_TOKEN": TOKEN}) for flags in ((), ("--json",))]
    assert any(seen.headers.get("Authorization") == f"token {TOKEN}" for seen in server.requests)
    for result in results:
        assert result.returncode == 0
        assert TOKEN not in result.stdout + result.stderr
    assert "refused the credentials" in results[0].stdout
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_the_worktrees_base_setting_is_the_base(work_home, tmp_path):
    repo = tmp_path / "repo"
    git(repo, "branch", "release", "HEAD~1")  # before the squash commit
    set_forge(work_home, {"github.com": {"api": ""}}, {"base": "release"})
    results = {s.name: w for s, w in check_work(work_home)}
    assert results["github.com-shoko-kugetsu-1"].detail == "2 commits not in release"


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[forge."github.com"]\ntoken = "SECRET-TOKEN-77aa01"\n', "unknown key 'token'"),
        ("[worktrees]\nbase = 3\n", "[worktrees] base must be a branch name"),
    ],
)
def test_bad_settings_are_one_line_errors(work_home, toml, needle):
    work_home.config_toml.write_text(work_home.config_toml.read_text().split("[forge")[0] + toml)
    result = run_cli(work_home, "work")
    line = assert_one_line_error(result, 1, needle)
    assert TOKEN not in line


def test_work_with_no_dev_sessions_writes_nothing(home):
    assert run_cli(home, "work").stdout.strip() == "no dev sessions"
    assert not (home.root / WORK_FILE).exists()


def test_browse_url_is_the_checked_url_else_the_issue_page(home):
    path = write_session(home, "github.com-shoko-kugetsu-9", issue_ref="codeberg.org/shoko/kugetsu#9")
    session = read_session(path)
    assert browse_url(session, NOT_CHECKED) == "https://codeberg.org/shoko/kugetsu/issues/9"
    checked = WorkStatus(WorkState.OPEN, "forge", "PR #10 open", "https://codeberg.org/shoko/kugetsu/pulls/10", "t")
    assert browse_url(session, checked) == "https://codeberg.org/shoko/kugetsu/pulls/10"
    broken = read_session(write_session(home, "odd", issue_ref="not a ref"))
    assert browse_url(broken, NOT_CHECKED) is None


def test_a_repo_that_is_not_an_absolute_path_gives_way_to_the_worktree(work_home, tmp_path):
    set_forge(work_home, {"github.com": {"api": ""}})
    name = "github.com-shoko-kugetsu-1"
    write_session(work_home, name, issue_ref="github.com/shoko/kugetsu#1", branch_name="feat", repo="shoko/kugetsu")
    assert check_work(work_home)[0][1].detail == "git: the session names no branch_name and repo or worktree_path"
    write_session(
        work_home,
        name,
        issue_ref="github.com/shoko/kugetsu#1",
        branch_name="feat",
        repo="shoko/kugetsu",
        worktree_path=str(tmp_path / "repo"),
    )
    assert check_work(work_home)[0][1][:3] == ("merged", "git", "squash-merged into main")
