"""What the forge says about a session's work: its pull request, else its branch's, else its issue.

The first source that gives an answer wins (kugetsu #135 reads `state` and `merged` the same way).
GitHub and Gitea/Forgejo share the shapes used here, except that a GitHub list item has only
`merged_at`, and Gitea's pull list cannot filter by head branch (we match `head.ref` ourselves).
Anything not shaped as documented is `unknown` with the reason: never a guess.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, NamedTuple

from kugetsu_tui.base.refs import IssueRef
from kugetsu_tui.work.forge.client import ForgeClient, Reply
from kugetsu_tui.work.forge.settings import GITHUB_HOST, ForgeSettings, HostSettings
from kugetsu_tui.work.states import WorkState

_PART = r"[A-Za-z0-9._-]+"
_PR_URL = re.compile(
    rf"https?://(?P<host>[A-Za-z0-9.-]+(?::[0-9]+)?)/(?P<owner>{_PART})/(?P<repo>{_PART})"
    r"/pulls?/(?P<number>[0-9]+)/?"
)


class ForgeAnswer(NamedTuple):
    state: WorkState
    detail: str
    url: str | None


class _Repo(NamedTuple):
    settings: HostSettings
    owner: str
    repo: str
    token: str | None

    @property
    def api(self) -> str:
        return f"{self.settings.api}/repos/{self.owner}/{self.repo}"

    @property
    def github(self) -> bool:
        return self.settings.host == GITHUB_HOST or self.settings.api.endswith("/api/v3")


def forge_work(
    client: ForgeClient,
    settings: ForgeSettings,
    ref: IssueRef,
    *,
    pr_url: str | None = None,
    branch: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ForgeAnswer | None:
    """The forge's answer for one session, or None when the forge is turned off for its host."""
    host = settings.for_host(ref.host)
    if not host.api:
        return None
    repo = _Repo(host, ref.owner, ref.repo, host.token(environ))
    issue_url = f"https://{ref.host}/{ref.owner}/{ref.repo}/issues/{ref.number}"
    reasons: list[str] = []
    if pr_url:
        answer = _from_pr_url(client, settings, pr_url, environ, reasons)
        if answer:
            return answer
    if branch:
        answer = _from_branch(client, repo, branch, reasons)
        if answer:
            return answer
    answer = _from_issue(client, repo, ref.number, issue_url, reasons)
    if answer:
        return answer
    return ForgeAnswer(
        WorkState.UNKNOWN, "; ".join(reasons), pr_url if pr_url and _PR_URL.fullmatch(pr_url) else issue_url
    )


def _from_pr_url(
    client: ForgeClient, settings: ForgeSettings, pr_url: str, environ: Mapping[str, str] | None, reasons: list[str]
) -> ForgeAnswer | None:
    match = _PR_URL.fullmatch(pr_url.strip())
    if match is None or {match.group("owner"), match.group("repo")} & {".", ".."}:
        reasons.append("pr_url is not a pull request URL")
        return None
    host = settings.for_host(match.group("host"))
    if not host.api:
        reasons.append(f"the forge is off for {match.group('host')}")
        return None
    repo = _Repo(host, match.group("owner"), match.group("repo"), host.token(environ))
    reply = client.get_json(f"{repo.api}/pulls/{match.group('number')}", repo.token)
    return _read_pr(reply.data, pr_url, reasons) if _usable(reply, reasons) else None


def _from_branch(client: ForgeClient, repo: _Repo, branch: str, reasons: list[str]) -> ForgeAnswer | None:
    if repo.github:
        query = {"state": "all", "head": f"{repo.owner}:{branch}", "per_page": "100"}
    else:
        query = {"state": "all", "sort": "recentupdate", "limit": "50"}
    reply = client.get_json(f"{repo.api}/pulls?{urllib.parse.urlencode(query)}", repo.token)
    if not _usable(reply, reasons):
        return None
    if not isinstance(reply.data, list):
        reasons.append("the pull request list is not a JSON array")
        return None
    mine = [
        pr
        for pr in reply.data
        if isinstance(pr, dict)
        and isinstance(pr.get("head"), dict)
        and pr["head"].get("ref") == branch
        and _number(pr) is not None
    ]
    if not mine:
        reasons.append(f"no pull request for branch {branch}")
        return None
    newest = max(mine, key=lambda pr: _number(pr) or 0)
    return _read_pr(newest, None, reasons)


def _from_issue(
    client: ForgeClient, repo: _Repo, number: int, issue_url: str, reasons: list[str]
) -> ForgeAnswer | None:
    reply = client.get_json(f"{repo.api}/issues/{number}", repo.token)
    if not _usable(reply, reasons):
        return None
    issue = reply.data
    state = issue.get("state") if isinstance(issue, dict) else None
    if state not in (WorkState.OPEN, WorkState.CLOSED):
        reasons.append("the issue's answer has no state open or closed")
        return None
    url = _web_url(issue.get("html_url")) or issue_url
    if state == WorkState.OPEN:
        return ForgeAnswer(WorkState.OPEN, "issue open", url)
    why = issue.get("state_reason")
    return ForgeAnswer(
        WorkState.CLOSED, f"issue closed ({why})" if isinstance(why, str) and why else "issue closed", url
    )


def _read_pr(pr: Any, fallback_url: str | None, reasons: list[str]) -> ForgeAnswer | None:
    number = _number(pr)
    state = pr.get("state") if isinstance(pr, dict) else None
    if number is None or state not in (WorkState.OPEN, WorkState.CLOSED):
        reasons.append("the pull request's answer has no number and state open or closed")
        return None
    merged = pr.get("merged")
    if not isinstance(merged, bool):
        merged_at = pr.get("merged_at", False)  # GitHub's list items carry only merged_at
        if merged_at is not None and not isinstance(merged_at, str):
            reasons.append(f"pull request #{number} says neither merged nor merged_at")
            return None
        merged = bool(merged_at)
    url = _web_url(pr.get("html_url")) or fallback_url
    if merged:
        return ForgeAnswer(WorkState.MERGED, f"PR #{number} merged", url)
    if state == WorkState.CLOSED:
        return ForgeAnswer(WorkState.CLOSED, f"PR #{number} closed unmerged", url)
    return ForgeAnswer(WorkState.OPEN, f"PR #{number} open", url)


def _usable(reply: Reply, reasons: list[str]) -> bool:
    if reply.error:
        reasons.append(reply.error)
        return False
    return True


def _number(pr: Any) -> int | None:
    number = pr.get("number") if isinstance(pr, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None


def _web_url(value: Any) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(r"https?://\S+", value) else None
