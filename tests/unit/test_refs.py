"""Issue refs: the three accepted forms, kugetsu's session name, and strict refusals."""

from __future__ import annotations

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.refs import IssueRef, parse_issue_ref
from tests.helpers import assert_one_line_error, demo_store, run_cli, tree_listing


@pytest.mark.parametrize(
    "text",
    [
        "github.com/shoko/kugetsu#49",
        "shoko/kugetsu#49",
        "https://github.com/shoko/kugetsu/issues/49",
    ],
)
def test_the_three_forms_give_kugetsus_canonical_text_and_session_name(text):
    ref = parse_issue_ref(text)
    assert ref == IssueRef("github.com", "shoko", "kugetsu", 49)
    assert ref.text == "github.com/shoko/kugetsu#49"
    assert str(ref) == "github.com/shoko/kugetsu#49"
    assert ref.session_name == "github.com-shoko-kugetsu-49"


def test_other_hosts_and_the_allowed_characters_are_kept():
    ref = parse_issue_ref("gitea.example.org/team_1/my.repo-x#7")
    assert ref.text == "gitea.example.org/team_1/my.repo-x#7"
    assert ref.session_name == "gitea.example.org-team_1-my.repo-x-7"
    url = parse_issue_ref("https://codeberg.org/a-b/c.d/issues/120")
    assert url.text == "codeberg.org/a-b/c.d#120"
    assert url.session_name == "codeberg.org-a-b-c.d-120"


def test_the_host_is_case_folded_and_the_number_normalised():
    assert parse_issue_ref("GitHub.COM/shoko/kugetsu#007").text == "github.com/shoko/kugetsu#7"


def test_the_session_name_never_contains_a_path_separator():
    for text in ("a/b#1", "h.io/a/b#2", "https://h.io/a/b/issues/3"):
        name = parse_issue_ref(text).session_name
        assert "/" not in name and "#" not in name and name not in (".", "..")


BAD_REFS = [
    "",
    " ",
    ".",
    "..",
    "shoko/kugetsu",  # missing number
    "shoko/kugetsu#",  # missing number
    "shoko/kugetsu#abc",
    "shoko/kugetsu#-1",
    "shoko/kugetsu#1.5",
    "shoko/kugetsu#0",
    "shoko/kugetsu#\u0663",  # an Arabic-Indic digit: not [0-9]
    "#49",
    "kugetsu#49",
    "./kugetsu#1",
    "../kugetsu#1",
    "shoko/.#1",
    "shoko/..#1",
    "../x/y#1",  # path traversal through the host
    "x/../y#1",
    "github.com/../..#1",
    "..github.com/a/b#1",
    "a/b#1;rm -rf",  # shell metacharacters
    "a/b#1;rm -rf /",
    "a/b#1 && touch x",
    "a/b#1|cat",
    "a/b#1`id`",
    "$(id)/b#1",
    "a/b#1>x",
    "sho ko/kugetsu#1",  # spaces
    "shoko/kug etsu#1",
    "shoko/kugetsu# 1",
    "shoko/kugetsu#1\nrm -rf /",
    "shoko/kugetsu#1\x00",
    "\uff53hoko/kugetsu#1",  # a fullwidth letter
    "a/b/c/d#1",
    "https://github.com/shoko/kugetsu/pull/49",
    "https://github.com/shoko/kugetsu#49",
    "ftp://github.com/shoko/kugetsu/issues/49",
    "https://github.com/shoko/kugetsu/issues/49?x=1",
    "github.com/shoko/kugetsu/issues/49",
]


@pytest.mark.parametrize("text", BAD_REFS)
def test_anything_else_is_refused_with_a_clear_one_line_error(text):
    with pytest.raises(KugetsuError) as caught:
        parse_issue_ref(text)
    message = str(caught.value)
    assert message.startswith("invalid issue ref")
    assert repr(text) in message  # names the offending input, escaped
    assert "\n" not in message


@pytest.mark.parametrize("bad", ["../x/y#1", "a/b#1;rm -rf", "shoko/kugetsu#abc", "..", ""])
def test_cli_start_with_a_bad_ref_exits_1_and_writes_nothing_anywhere(home, bad):
    root = home.root.parent  # the home and the demo agent's store beside it
    assert demo_store(home).parent == root
    before = tree_listing(root)
    result = run_cli(home, "start", bad, "hello")
    assert_one_line_error(result, 1, "invalid issue ref", repr(bad))
    assert result.stdout == ""
    assert tree_listing(root) == before
    assert not (home.root / "logs").exists() and not (home.root / "archive").exists()


# --- a pull-request URL where an issue ref is expected ---------------------------------------------

PULL_URLS = [
    ("https://github.com/shoko/kugetsu/pull/12", "github.com/shoko/kugetsu"),
    ("https://GitHub.com/shoko/kugetsu/pull/12/files", "github.com/shoko/kugetsu"),
    ("http://codeberg.org/a-b/c.d/pulls/3", "codeberg.org/a-b/c.d"),
    ("https://gitlab.example.org/team/app/-/merge_requests/4", "gitlab.example.org/team/app"),
]


@pytest.mark.parametrize(("url", "repo"), PULL_URLS)
def test_a_pull_request_url_is_refused_as_one_with_the_issue_ref_form_of_its_repository(url, repo):
    with pytest.raises(KugetsuError) as caught:
        parse_issue_ref(url)
    message = str(caught.value)
    assert message.startswith(f"invalid issue ref {url!r}: that is a pull-request URL, not an issue")
    assert f"{repo}#N or https://{repo}/issues/N" in message
    assert "\n" not in message


def test_other_bad_refs_keep_the_generic_message():
    for text in ("https://github.com/shoko/kugetsu/pulls", "https://github.com/shoko/kugetsu/pull/x", "a/b#x"):
        with pytest.raises(KugetsuError, match="expected HOST/OWNER/REPO#N") as caught:
            parse_issue_ref(text)
        assert "pull-request" not in str(caught.value)


PR = "https://github.com/shoko/kugetsu/pull/12"


@pytest.mark.parametrize(
    "args",
    [
        ("start", PR, "go"),
        ("start", PR, "go", "--queue"),
        ("queue", "add", PR, "go"),
        ("continue", PR),
        ("continue", PR, "more"),
        ("destroy", PR, "-y"),
        ("restore", PR),
    ],
    ids=lambda args: " ".join(args[: 2 if args[0] != "queue" else 3]).replace(PR, "PR"),
)
def test_every_command_that_takes_a_ref_refuses_a_pull_request_url_as_one_and_changes_nothing(home, args):
    before = tree_listing(home.root)
    result = run_cli(home, *args)
    assert_one_line_error(result, 1, "is a pull-request URL, not an issue", "github.com/shoko/kugetsu#N")
    assert "no session" not in result.stderr and "nothing archived" not in result.stderr
    assert result.stdout == ""
    assert tree_listing(home.root) == before
