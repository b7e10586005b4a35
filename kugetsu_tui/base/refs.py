"""Issue references, parsed strictly, and kugetsu's session name for each."""

from __future__ import annotations

import re
from typing import NamedTuple

from kugetsu_tui.base.errors import KugetsuError

_PART = r"[A-Za-z0-9._-]+"
_HOST = r"[A-Za-z0-9.-]+"
# A DNS name: labels of letters, digits and inner hyphens. A host such as `-oProxyCommand=…` would
# otherwise reach git or a forge URL, and a leading '-' makes a value an option.
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
#: Gitea stores issue numbers as int64, GitHub as smaller ints: nothing larger is an issue.
MAX_ISSUE_NUMBER = 2**63 - 1
#: opencode's ids are `ses_` + 26 letters and digits (12 hex of the time, 14 base62); its own check is
#: only the prefix, and kugetsu's docs and our demo agent use other lengths. The alphabet is what keeps
#: an id out of option position and free of control bytes, so that and a bound are what we require.
_SESSION_ID = re.compile(r"ses_[0-9A-Za-z]{1,64}")
_SHORT = re.compile(rf"(?P<owner>{_PART})/(?P<repo>{_PART})#(?P<number>[0-9]+)")
_FULL = re.compile(rf"(?P<host>{_HOST})/(?P<owner>{_PART})/(?P<repo>{_PART})#(?P<number>[0-9]+)")
_URL = re.compile(rf"https?://(?P<host>{_HOST})/(?P<owner>{_PART})/(?P<repo>{_PART})/issues/(?P<number>[0-9]+)/?")

# A pull request's page (GitHub `pull`, Gitea/Forgejo `pulls`, GitLab `-/merge_requests`), with any tab after it.
_PULL_URL = re.compile(
    rf"https?://(?P<host>{_HOST})/(?P<owner>{_PART})/(?P<repo>{_PART})/(pulls?|-/merge_requests)/[0-9]+(/.*)?"
)

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
        raise KugetsuError(pull_request_problem(raw) or f"invalid issue ref {_clip(text)!r}: expected {EXPECTED_FORMS}")
    owner, repo = match.group("owner"), match.group("repo")
    for part in (owner, repo):
        if part in (".", ".."):
            raise KugetsuError(f"invalid issue ref {text!r}: owner and repo cannot be '.' or '..'")
    if not _HOST_NAME.fullmatch(host) or len(host) > 253:
        raise KugetsuError(f"invalid issue ref {text!r}: bad host {host!r} (letters, digits, inner '-' and '.')")
    if owner.startswith("-"):
        raise KugetsuError(f"invalid issue ref {text!r}: an owner cannot start with '-'")
    digits = match.group("number").lstrip("0")
    # Compared as text first: int() of a few thousand digits is refused by Python (and slow before that).
    if not digits or len(digits) > len(str(MAX_ISSUE_NUMBER)) or int(digits) > MAX_ISSUE_NUMBER:
        raise KugetsuError(f"invalid issue ref {_clip(text)!r}: the issue number must be from 1 to {MAX_ISSUE_NUMBER}")
    return IssueRef(host, owner, repo, int(digits))


def pull_request_problem(text: str) -> str | None:
    """Why a pull-request URL is refused where an issue ref is expected, or None if `text` is not one.

    kugetsu names a session after its issue, so a PR's URL names none (mapping a PR to the issue it
    closes would ask the forge, which parsing never does); the line shows the issue ref form instead.
    """
    match = _PULL_URL.fullmatch(text.strip())
    if match is None:
        return None
    repo = f"{match.group('host').lower()}/{match.group('owner')}/{match.group('repo')}"
    return (
        f"invalid issue ref {_clip(text)!r}: that is a pull-request URL, not an issue; give the issue "
        f"it is for, as {repo}#N or https://{repo}/issues/N"
    )


def _clip(text: str) -> str:
    """A very long ref shortened for its error line."""
    return text if len(text) <= 80 else f"{text[:60]}…({len(text)} characters)"


def session_id_problem(value: object) -> str | None:
    """Why `value` cannot be given to opencode as a session id, or None when it has opencode's form."""
    if isinstance(value, str) and _SESSION_ID.fullmatch(value):
        return None
    return f"{_clip(str(value))!r} is not an opencode session id (ses_ and up to 64 letters or digits)"
