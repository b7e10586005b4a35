"""Issue references, parsed strictly, and kugetsu's session name for each."""

from __future__ import annotations

import re
from typing import NamedTuple

from kugetsu_tui.base.errors import KugetsuError

_PART = r"[A-Za-z0-9._-]+"
_HOST = r"[A-Za-z0-9.-]+"
_SHORT = re.compile(rf"(?P<owner>{_PART})/(?P<repo>{_PART})#(?P<number>[0-9]+)")
_FULL = re.compile(rf"(?P<host>{_HOST})/(?P<owner>{_PART})/(?P<repo>{_PART})#(?P<number>[0-9]+)")
_URL = re.compile(rf"https?://(?P<host>{_HOST})/(?P<owner>{_PART})/(?P<repo>{_PART})/issues/(?P<number>[0-9]+)/?")

EXPECTED_FORMS = "HOST/OWNER/REPO#N, OWNER/REPO#N or https://HOST/OWNER/REPO/issues/N"


class IssueRef(NamedTuple):
    host: str
    owner: str
    repo: str
    number: int

    @property
    def text(self) -> str:
        """The canonical form kugetsu stores: `github.com/shoko/kugetsu#14`."""
        return f"{self.host}/{self.owner}/{self.repo}#{self.number}"

    @property
    def session_name(self) -> str:
        """kugetsu's file stem: '/' and '#' become '-' (`github.com-shoko-kugetsu-14`)."""
        return self.text.replace("/", "-").replace("#", "-")

    def __str__(self) -> str:
        return self.text


def parse_issue_ref(text: str) -> IssueRef:
    """Accept the three documented forms; refuse anything else with a clear message."""
    raw = text.strip()
    match = _URL.fullmatch(raw) or _FULL.fullmatch(raw)
    host = match.group("host").lower() if match else "github.com"
    if match is None:
        match = _SHORT.fullmatch(raw)
    if match is None:
        raise KugetsuError(f"invalid issue ref {text!r}: expected {EXPECTED_FORMS}")
    owner, repo = match.group("owner"), match.group("repo")
    for part in (owner, repo):
        if part in (".", ".."):
            raise KugetsuError(f"invalid issue ref {text!r}: owner and repo cannot be '.' or '..'")
    if host.startswith(".") or ".." in host:
        raise KugetsuError(f"invalid issue ref {text!r}: bad host {host!r}")
    number = int(match.group("number"))
    if number < 1:
        raise KugetsuError(f"invalid issue ref {text!r}: the issue number must be at least 1")
    return IssueRef(host, owner, repo, number)
