"""Work status of dev sessions: is the issue's work finished (merged or closed), still open, or unknown?

Two sources are asked (the forge's API and local git, see `forge/` and `git_merge`) and combined: done
when either says merged or the forge says the PR or issue is closed; open when a source says open and
none says done; otherwise unknown, with every reason. Results are cached in the home (`work.json`) with
the time they were checked, so `ls` and the console's table read them without network or git.

This module is on the `ls` path: the sources are imported only when a check runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kugetsu_tui.base.atomic import encode_json, write_bytes
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.files import KIND_DEV, Session, list_sessions, now_iso, session_names
from kugetsu_tui.work.states import DONE_STATES, WorkState

if TYPE_CHECKING:
    from kugetsu_tui.work.forge import ForgeAnswer, ForgeSettings
    from kugetsu_tui.work.git_merge import GitAnswer

WORK_FILE = "work.json"
FORGE_CACHE_FILE = "forge-cache.json"
FORGE_TIMEOUT = 5.0  # seconds per request, as the issue asks


class WorkStatus(NamedTuple):
    """One session's work: `source` is "forge", "git" or None (nothing answered)."""

    state: WorkState
    source: str | None
    detail: str
    url: str | None
    checked_at: str | None

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def label(self) -> str:
        """Short text for a table cell: `PR #12 open`, `merged`, `issue closed`, `?`."""
        if self.state == WorkState.UNKNOWN:
            return "?"
        if self.source == "forge":
            return self.detail.split(" (", 1)[0]
        return self.state

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "source": self.source,
            "detail": self.detail,
            "url": self.url,
            "checked_at": self.checked_at,
        }


NOT_CHECKED = WorkStatus(WorkState.UNKNOWN, None, "not checked yet", None, None)


def combine(forge: ForgeAnswer | None, git: GitAnswer | None, checked_at: str) -> WorkStatus:
    """The rule of the issue: done beats open beats unknown; the forge's answer first at each level."""
    url = forge.url if forge else None
    if forge and forge.state in DONE_STATES:
        return WorkStatus(forge.state, "forge", forge.detail, url, checked_at)
    if git and git.state == WorkState.MERGED:
        return WorkStatus(WorkState.MERGED, "git", git.detail, url, checked_at)
    if forge and forge.state == WorkState.OPEN:
        return WorkStatus(WorkState.OPEN, "forge", forge.detail, url, checked_at)
    if git and git.state == WorkState.OPEN:
        return WorkStatus(WorkState.OPEN, "git", git.detail, url, checked_at)
    why = [*([f"forge: {forge.detail}"] if forge else []), *([f"git: {git.detail}"] if git else [])]
    return WorkStatus(WorkState.UNKNOWN, None, "; ".join(why) or "no source to ask", url, checked_at)


class WorkChecker:
    """Checks sessions now. Build one per round (it carries the forge client and its per-round memory)."""

    def __init__(self, home: Home, *, timeout: float = FORGE_TIMEOUT, environ: Mapping[str, str] | None = None) -> None:
        from kugetsu_tui.work.forge import ForgeClient

        self.settings, self.base = load_work_settings(home)
        self.environ = environ
        self.client = ForgeClient(home.root / FORGE_CACHE_FILE, timeout=timeout)

    def check(self, session: Session) -> WorkStatus:
        checked_at = now_iso()
        if session.corrupt:
            return WorkStatus(
                WorkState.UNKNOWN, None, f"the session file is unusable: {session.error}", None, checked_at
            )
        return combine(self._forge(session), self._git(session), checked_at)

    def _forge(self, session: Session) -> ForgeAnswer | None:
        from kugetsu_tui.base.errors import KugetsuError
        from kugetsu_tui.base.refs import parse_issue_ref
        from kugetsu_tui.work.forge import ForgeAnswer, forge_work

        try:
            ref = parse_issue_ref(session.issue_ref or "")
        except KugetsuError:
            return ForgeAnswer(WorkState.UNKNOWN, "the session has no valid issue_ref", None)
        return forge_work(
            self.client,
            self.settings,
            ref,
            pr_url=_text(session.data.get("pr_url")),
            branch=_text(session.data.get("branch_name")),
            environ=self.environ,
        )

    def _git(self, session: Session) -> GitAnswer:
        from kugetsu_tui.work.git_merge import GitAnswer, branch_merged

        branch = _text(session.data.get("branch_name"))
        worktree = _path(session.data.get("worktree_path"))
        repo = _path(session.data.get("repo")) or worktree
        if not branch or repo is None:
            return GitAnswer(WorkState.UNKNOWN, "the session names no branch_name and repo or worktree_path")
        return branch_merged(repo, branch, base=self.base, worktree=worktree)

    def finish(self) -> None:
        """Keep the forge's ETags and rate-limit waits for the next round."""
        self.client.save()


def load_work_settings(home: Home) -> tuple[ForgeSettings, str]:
    """`[forge]` and the base branch `[worktrees] base` ("" when unset) from config.toml."""
    from kugetsu_tui.base.config_file import load_toml
    from kugetsu_tui.base.errors import KugetsuError
    from kugetsu_tui.work.forge import parse_forge_settings

    toml = load_toml(home)
    settings = parse_forge_settings(toml.get("forge"), f"{home.config_toml} [forge]")
    worktrees = toml.get("worktrees", {})
    base = worktrees.get("base", "") if isinstance(worktrees, dict) else ""
    if not isinstance(base, str) or base.startswith("-"):
        raise KugetsuError(f"{home.config_toml} [worktrees] base must be a branch name such as origin/main")
    return settings, base


def check_work(
    home: Home,
    sessions: list[Session] | None = None,
    *,
    timeout: float = FORGE_TIMEOUT,
    environ: Mapping[str, str] | None = None,
) -> list[tuple[Session, WorkStatus]]:
    """Check every dev session (or those given) now, save the results in the cache and return them.

    Blocking (network and git): call it from a worker thread in the console. Config errors raise
    KugetsuError; everything else becomes an `unknown` status with the reason.
    """
    if sessions is None:
        sessions = [s for s in list_sessions(home) if s.kind == KIND_DEV]
    checker = WorkChecker(home, timeout=timeout, environ=environ)
    if not sessions:
        return []
    results = [(s, checker.check(s)) for s in sessions]
    checker.finish()
    save_work(home, results)
    return results


def save_work(home: Home, results: Iterable[tuple[Session, WorkStatus]]) -> None:
    """Merge results into work.json, dropping entries of sessions that no longer exist."""
    entries = _load(home.root / WORK_FILE)
    for session, status in results:
        entries[session.name] = {
            "issue_ref": session.issue_ref,
            "created_at": session.created_at,
            "work": status.as_json(),
        }
    present = {name[:-5] for name in session_names(home.sessions_dir)}  # names only: no file is read again
    home.ensure(home.root)
    # Compact: json's C encoder (indent makes it fall back to the pure-Python one, 0.2 s at 10,000 sessions,
    # holding the GIL the console's loop needs). It is a cache, read by programs.
    write_bytes(home.root / WORK_FILE, encode_json({"sessions": {k: v for k, v in entries.items() if k in present}}))


def read_work(home: Home) -> dict[str, dict[str, Any]]:
    """The cache as stored (for `work_for`); cheap, no network, no git."""
    return _load(home.root / WORK_FILE)


def work_for(cache: Mapping[str, Mapping[str, Any]], session: Session) -> WorkStatus:
    """The cached status of a session, if it was checked for this very session (same issue, same start)."""
    entry = cache.get(session.name)
    if not entry or entry.get("issue_ref") != session.issue_ref or entry.get("created_at") != session.created_at:
        return NOT_CHECKED
    work = entry.get("work")
    if not isinstance(work, dict) or (state := WorkState.cached(work.get("state"))) is None:
        return NOT_CHECKED
    fields = [work.get(k) for k in ("source", "detail", "url", "checked_at")]
    if not all(v is None or isinstance(v, str) for v in fields):
        return NOT_CHECKED
    source, detail, url, checked_at = fields
    return WorkStatus(state, source, detail or "", url, checked_at)


def browse_url(session: Session, status: WorkStatus) -> str | None:
    """What to open in a browser for a session: its PR or issue as last checked, else the issue's page."""
    if status.url:
        return status.url
    from kugetsu_tui.base.errors import KugetsuError
    from kugetsu_tui.base.refs import parse_issue_ref

    try:
        ref = parse_issue_ref(session.issue_ref or "")
    except KugetsuError:
        return None
    return f"https://{ref.host}/{ref.owner}/{ref.repo}/issues/{ref.number}"


def _load(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    sessions = data.get("sessions") if isinstance(data, dict) else None
    if not isinstance(sessions, dict):
        return {}
    return {k: v for k, v in sessions.items() if isinstance(v, dict)}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _path(value: Any) -> Path | None:
    """An absolute directory path from a session field; anything else (OWNER/REPO, a relative path) is none."""
    text = _text(value)
    path = Path(os.path.expanduser(text)) if text else None
    return path if path is not None and path.is_absolute() else None
