"""Which git checkout an issue's worktree comes from: `[repos]` first, else the agent directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from kugetsu_tui.base.git import GitError, git_ok, git_program, git_text
from kugetsu_tui.base.refs import IssueRef
from kugetsu_tui.worktrees.settings import WorktreeSettings

# https://host/owner/repo(.git), ssh://git@host[:port]/owner/repo(.git), git@host:owner/repo(.git)
_REMOTE = re.compile(r"(?:[a-z+]+://)?(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?[:/](?P<path>[^:]+?)(?:\.git)?/?")


class Repository(NamedTuple):
    top: Path  # the main checkout's top level
    warning: str | None = None


def resolve_repository(settings: WorktreeSettings, ref: IssueRef, agent_dir: str) -> Repository | None:
    """The main checkout for `ref`; None when there is none (agents then run in the agent directory)."""
    configured = settings.repo_for(ref.host, ref.owner, ref.repo)
    if configured is not None:
        return Repository(main_checkout(configured, f"[repos] {ref.host}/{ref.owner}/{ref.repo}"))
    if not _looks_like_git(Path(agent_dir)):
        return None
    top = main_checkout(Path(agent_dir), "the agent directory")
    return Repository(top, _origin_warning(top, ref))


def main_checkout(path: Path, what: str) -> Path:
    """The top level of the main (not a linked) work tree holding `path`; clear errors otherwise."""
    git_program()
    if not path.is_dir():
        raise GitError(f"{what} {path} is not a directory: point it at a git checkout")
    if git_ok(["rev-parse", "--is-bare-repository"], path) == "true":
        raise GitError(f"{what} {path} is a bare repository: worktrees need a checkout with a work tree")
    if git_ok(["rev-parse", "--is-inside-work-tree"], path) != "true":
        raise GitError(f"{what} {path} is not a git work tree: point it at a git checkout")
    common = Path(git_text(["rev-parse", "--path-format=absolute", "--git-common-dir"], path))
    if common.name == ".git":
        return common.parent  # a linked worktree given: use its main checkout
    return Path(git_text(["rev-parse", "--show-toplevel"], path))


def _looks_like_git(path: Path) -> bool:
    """Whether `path` is in a git repository, asked of git when it is installed."""
    try:
        git_program()
    except GitError:
        if any((parent / ".git").exists() for parent in [path, *path.parents]):
            raise
        return False
    return git_ok(["rev-parse", "--git-dir"], path) is not None


def _origin_warning(top: Path, ref: IssueRef) -> str | None:
    url = git_ok(["config", "--get", "remote.origin.url"], top)
    if not url:
        return None
    match = _REMOTE.fullmatch(url)
    if match is None:
        return None
    named = f"{match.group('host')}/{match.group('path')}".lower()
    wanted = f"{ref.host}/{ref.owner}/{ref.repo}".lower()
    if named == wanted:
        return None
    return (
        f"the agent directory's checkout {top} has origin {url}, not {wanted}: its worktree is made there "
        f"anyway; map the issue's repository under [repos] in config.toml"
    )
