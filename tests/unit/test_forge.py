"""The forge client and status reader against a real HTTP server on 127.0.0.1 (GitHub and Gitea shapes)."""

from __future__ import annotations

import json

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.refs import parse_issue_ref
from kugetsu_tui.work.forge import ForgeClient, forge_work, parse_forge_settings
from tests.unit.forge_server import Answer, forge_server, gitea_pr, github_pr, issue

TOKEN = "SECRET-TOKEN-5f3a9c"
GH_REF = parse_issue_ref("github.com/shoko/kugetsu#12")
GITEA_REF = parse_issue_ref("codeberg.example/shoko/kugetsu#12")
PR_URL = "https://github.com/shoko/kugetsu/pull/34"
GH_PULLS = "/repos/shoko/kugetsu/pulls"
GITEA_PULLS = "/api/v1/repos/shoko/kugetsu/pulls"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server():
    with forge_server() as server:
        yield server


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "home" / "forge-cache.json"


def settings_for(server, **extra):
    table = {
        "github.com": {"api": server.url},
        "codeberg.example": {"api": f"{server.url}/api/v1", "token_env": "CODEBERG_TOKEN"},
    }
    table.update(extra)
    return parse_forge_settings(table)


def ask(server, cache, clock, ref=GH_REF, env=None, timeout=5.0, **kwargs):
    cache.parent.mkdir(exist_ok=True)
    client = ForgeClient(cache, timeout=timeout, clock=clock)
    answer = forge_work(client, settings_for(server), ref, environ=env if env is not None else {}, **kwargs)
    client.save()
    return answer


# --- documented shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "merged", "expected"),
    [
        ("closed", True, ("merged", "PR #34 merged")),
        ("closed", False, ("closed", "PR #34 closed unmerged")),
        ("open", False, ("open", "PR #34 open")),
    ],
)
def test_the_sessions_pr_url_is_read_first(server, cache, clock, state, merged, expected):
    server.routes[f"{GH_PULLS}/34"] = Answer(body=github_pr(34, state, merged))
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12, "closed", "completed"))
    answer = ask(server, cache, clock, pr_url=PR_URL, branch="fix/issue-12")
    assert (answer.state, answer.detail) == expected
    assert answer.url == PR_URL
    assert server.paths() == [f"{GH_PULLS}/34"]


def test_github_branch_lookup_filters_by_head_and_takes_the_newest_pr(server, cache, clock):
    listed = [
        github_pr(40, "open", None, ref="other"),
        github_pr(35, "closed", None, ref="fix/issue-12"),
        {**github_pr(38, "closed", None, ref="fix/issue-12"), "merged_at": "2026-11-30T10:00:00Z"},
    ]
    server.routes[GH_PULLS] = Answer(body=listed)
    answer = ask(server, cache, clock, branch="fix/issue-12")
    assert (answer.state, answer.detail, answer.url) == (
        "merged",
        "PR #38 merged",
        "https://github.com/shoko/kugetsu/pull/38",
    )
    assert server.requests[0].query == {"state": ["all"], "head": ["shoko:fix/issue-12"], "per_page": ["100"]}


def test_gitea_branch_lookup_matches_head_ref_itself(server, cache, clock):
    server.routes[GITEA_PULLS] = Answer(
        body=[gitea_pr(7, "open", ref="fix/issue-12"), gitea_pr(9, "closed", True, ref="elsewhere")]
    )
    answer = ask(server, cache, clock, ref=GITEA_REF, branch="fix/issue-12")
    assert (answer.state, answer.detail, answer.url) == (
        "open",
        "PR #7 open",
        "https://codeberg.example/shoko/kugetsu/pulls/7",
    )
    assert "head" not in server.requests[0].query and server.requests[0].query["state"] == ["all"]


def test_gitea_pr_url_form_is_understood(server, cache, clock):
    server.routes[f"{GITEA_PULLS}/7"] = Answer(body=gitea_pr(7, "closed", True))
    answer = ask(server, cache, clock, ref=GITEA_REF, pr_url="https://codeberg.example/shoko/kugetsu/pulls/7")
    assert (answer.state, answer.detail) == ("merged", "PR #7 merged")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (issue(12, "closed", "completed"), ("closed", "issue closed (completed)")),
        (issue(12, "closed", "not_planned"), ("closed", "issue closed (not_planned)")),
        ({**issue(12, "closed"), "state_reason": None}, ("closed", "issue closed")),
        (issue(12, "open"), ("open", "issue open")),
    ],
)
def test_without_a_pr_the_issue_decides(server, cache, clock, body, expected):
    server.routes[GH_PULLS] = Answer(body=[])
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=body)
    answer = ask(server, cache, clock, branch="fix/issue-12")
    assert (answer.state, answer.detail) == expected
    assert answer.url == "https://github.com/shoko/kugetsu/issues/12"


def test_a_forge_turned_off_for_a_host_is_not_asked(server, cache, clock):
    client = ForgeClient(cache, clock=clock)
    assert forge_work(client, parse_forge_settings({"github.com": {"api": ""}}), GH_REF) is None
    assert server.requests == []


# --- tokens --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "header"),
    [
        ({"GITHUB_TOKEN": TOKEN, "GH_TOKEN": "other"}, f"token {TOKEN}"),
        ({"GH_TOKEN": TOKEN}, f"token {TOKEN}"),
        ({}, None),
    ],
)
def test_github_token_from_github_token_then_gh_token(server, cache, clock, env, header):
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12))
    ask(server, cache, clock, env=env)
    assert server.requests[0].headers.get("Authorization") == header


def test_other_hosts_use_only_their_token_env(server, cache, clock):
    server.routes["/api/v1/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12, host="codeberg.example"))
    ask(server, cache, clock, ref=GITEA_REF, env={"GITHUB_TOKEN": "not-for-codeberg"})
    assert "Authorization" not in server.requests[0].headers
    ask(server, cache, clock, ref=GITEA_REF, env={"CODEBERG_TOKEN": TOKEN})
    assert server.requests[1].headers["Authorization"] == f"token {TOKEN}"


def test_the_token_is_not_sent_along_a_redirect_to_another_host(server, cache, clock):
    with forge_server() as elsewhere:
        elsewhere.routes["/moved"] = Answer(body=issue(12, "closed"))
        server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(302, b"", {"Location": f"{elsewhere.url}/moved"})
        answer = ask(server, cache, clock, env={"GITHUB_TOKEN": TOKEN})
        assert answer.state == "closed"
        assert "Authorization" not in elsewhere.requests[0].headers


def test_the_token_is_never_sent_over_plain_http_to_another_machine(cache, clock):
    client = ForgeClient(cache, clock=clock)
    settings = parse_forge_settings({"github.com": {"api": "http://forge.example.invalid"}})
    answer = forge_work(client, settings, GH_REF, environ={"GITHUB_TOKEN": TOKEN})
    assert answer.state == "unknown" and "only over https" in answer.detail
    assert TOKEN not in answer.detail


@pytest.mark.parametrize("token", [f"{TOKEN}\nX-Injected: 1", f"{TOKEN} x", f"{TOKEN}\u00e9"])
def test_a_token_a_header_cannot_carry_is_refused_without_quoting_it(server, cache, clock, token):
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12))
    answer = ask(server, cache, clock, env={"GITHUB_TOKEN": token})
    assert answer.state == "unknown" and "cannot carry" in answer.detail
    assert TOKEN not in repr(answer)
    assert server.requests == []


def test_a_pr_url_with_dot_segments_is_not_followed(server, cache, clock):
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12))
    answer = ask(server, cache, clock, pr_url="https://github.com/../kugetsu/pull/3")
    assert answer.state == "open"
    assert server.paths() == ["/repos/shoko/kugetsu/issues/12"]


def test_the_token_appears_in_no_answer_and_no_file(server, cache, clock, tmp_path):
    server.routes[f"{GH_PULLS}/34"] = Answer(401, {"message": "Bad credentials"})
    server.routes[GH_PULLS] = Answer(403, {"message": "API rate limit exceeded"}, {"Retry-After": "60"})
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(200, issue(12), etag='"e1"')
    answers = [ask(server, cache, clock, env={"GITHUB_TOKEN": TOKEN}, pr_url=PR_URL, branch="b") for _ in range(2)]
    assert all(seen.headers.get("Authorization") == f"token {TOKEN}" for seen in server.requests)
    assert TOKEN not in repr(answers)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


# --- conditional requests and rate limits -----------------------------------------------------------


def test_etag_is_sent_back_and_a_304_reuses_the_cached_answer_across_runs(server, cache, clock):
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12, "closed", "completed"), etag='"v1"')
    first = ask(server, cache, clock)
    second = ask(server, cache, clock)  # a new client: the ETag comes from the cache file
    assert first == second
    assert second.detail == "issue closed (completed)"
    assert "If-None-Match" not in server.requests[0].headers
    assert server.requests[1].headers["If-None-Match"] == '"v1"'
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12, "open"), etag='"v2"')
    assert ask(server, cache, clock).state == "open"


def test_a_304_without_a_cached_body_is_unknown(server, cache, clock):
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(304, b"")
    answer = ask(server, cache, clock)
    assert answer.state == "unknown" and "304" in answer.detail


def test_403_with_retry_after_stops_every_request_until_then(server, cache, clock):
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(
        403, {"message": "secondary rate limit"}, {"Retry-After": "120"}
    )
    answer = ask(server, cache, clock)
    assert answer.state == "unknown" and "rate limited" in answer.detail
    clock.now += 119
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12, "closed"))
    later = ask(server, cache, clock)
    assert later.state == "unknown" and "no request to" in later.detail
    assert len(server.requests) == 1
    clock.now += 2
    assert ask(server, cache, clock).state == "closed"
    assert len(server.requests) == 2


def test_a_used_up_rate_limit_waits_for_its_reset(server, cache, clock):
    reset = int(clock.now) + 600
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12, "open"), headers=headers)
    assert ask(server, cache, clock).state == "open"  # this answer still counts
    blocked = ask(server, cache, clock)
    assert blocked.state == "unknown" and "rate limit" in blocked.detail
    assert len(server.requests) == 1
    clock.now = reset + 1
    assert ask(server, cache, clock).state == "open"


# --- failures are unknown with the reason ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (Answer(401, {"message": "Bad credentials"}), "refused the credentials (401)"),
        (Answer(403, {"message": "Forbidden"}), "(403)"),
        (Answer(404, {"message": "Not Found"}), "(404"),
        (Answer(500, b"<html>oops</html>"), "failed with 500"),
        (Answer(200, b"<html>login page</html>"), "not JSON"),
        (Answer(200, [issue(12)]), "no state open or closed"),
        (Answer(200, {"state": "reopened"}), "no state open or closed"),
        (Answer(200, b"\xff\xfe"), "not JSON"),
    ],
)
def test_errors_and_undocumented_bodies_are_unknown_with_the_reason(server, cache, clock, answer, needle):
    server.routes["/repos/shoko/kugetsu/issues/12"] = answer
    result = ask(server, cache, clock)
    assert result.state == "unknown"
    assert needle in result.detail, result.detail
    assert result.url == "https://github.com/shoko/kugetsu/issues/12"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({**github_pr(34, "closed"), "merged": "yes", "merged_at": 5}, "neither merged nor merged_at"),
        ({k: v for k, v in github_pr(34, "closed", None).items() if k != "merged_at"}, "neither merged nor merged_at"),
        ({**github_pr(34), "number": "34"}, "no number"),
        ({**github_pr(34), "state": "draft"}, "no number and state"),
        ("a string", "no number"),
    ],
)
def test_a_pr_not_shaped_as_documented_is_not_guessed(server, cache, clock, body, needle):
    server.routes[f"{GH_PULLS}/34"] = Answer(body=body)
    result = ask(server, cache, clock, pr_url=PR_URL)
    assert result.state == "unknown" and needle in result.detail, result.detail


def test_a_list_that_is_not_a_list_is_not_guessed(server, cache, clock):
    server.routes[GH_PULLS] = Answer(body={"message": "odd"})
    result = ask(server, cache, clock, branch="fix/issue-12")
    assert result.state == "unknown" and "not a JSON array" in result.detail


def test_a_slow_answer_times_out_and_the_host_is_not_asked_again_this_round(server, cache, clock):
    server.routes[f"{GH_PULLS}/34"] = Answer(body=github_pr(34), delay=30)
    result = ask(server, cache, clock, timeout=0.2, pr_url=PR_URL, branch="fix/issue-12")
    assert result.state == "unknown"
    assert "no answer from" in result.detail and "within 0.2 s" in result.detail
    assert server.paths() == [f"{GH_PULLS}/34"]
    assert result.url == PR_URL


def test_no_network_is_unknown(cache, clock):
    with forge_server() as gone:
        url = gone.url
    client = ForgeClient(cache, clock=clock)
    settings = parse_forge_settings({"github.com": {"api": url}})
    result = forge_work(client, settings, GH_REF, environ={})
    assert result.state == "unknown" and "cannot reach" in result.detail


def test_a_broken_cache_file_is_ignored(server, cache, clock):
    cache.parent.mkdir()
    cache.write_text("{not json")
    server.routes["/repos/shoko/kugetsu/issues/12"] = Answer(body=issue(12), etag='"x"')
    assert ask(server, cache, clock).state == "open"
    assert json.loads(cache.read_text())["responses"]


# --- settings ------------------------------------------------------------------------------------


def test_default_apis_per_host():
    settings = parse_forge_settings(None)
    assert settings.for_host("github.com").api == "https://api.github.com"
    assert settings.for_host("github.com").token_envs == ("GITHUB_TOKEN", "GH_TOKEN")
    assert settings.for_host("codeberg.org").api == "https://codeberg.org/api/v1"
    assert settings.for_host("codeberg.org").token_envs == ()
    assert settings.interval == 120
    custom = parse_forge_settings({"interval": 30, "github.com": {"token_env": "MY_TOKEN"}})
    assert custom.for_host("github.com") == ("github.com", "https://api.github.com", ("MY_TOKEN",))
    assert custom.interval == 30


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"github.com": {"token": TOKEN}}, "unknown key 'token'"),
        ({"github.com": {"api": "ftp://x"}}, "api must be an http(s) URL"),
        ({"github.com": {"token_env": "$X"}}, "token_env must be the name"),
        ({"interval": 0}, "interval must be"),
        ({"colour": "red"}, "unknown key 'colour'"),
        ("x", "must be a table"),
    ],
)
def test_bad_settings_are_clear_errors_that_never_echo_a_value(table, needle):
    with pytest.raises(KugetsuError) as caught:
        parse_forge_settings(table)
    assert needle in str(caught.value)
    assert TOKEN not in str(caught.value)
