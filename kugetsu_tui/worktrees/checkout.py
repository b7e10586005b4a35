"""Planning, creating and removing a session's worktree.

`plan_worktree` checks everything (git, the repository, the branch name, the target path, the
branch not being checked out elsewhere) without side effects, so that `start` can refuse before
it writes anything; `create_worktree` then makes it, and `discard_started_worktree` undoes it (from the start's journal).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from kugetsu_tui.base.git import GitError, git_ok, git_text, run_git
from kugetsu_tui.base.refs import IssueRef
from kugetsu_tui.worktrees.repository import resolve_repository
from kugetsu_tui.worktrees.settings import WorktreeSettings, render_branch


class WorktreePlan(NamedTuple):
    repo: Path
    path: Path
    branch: str
    base: str  # the start point as named (branch or commit)
    base_commit: str
    branch_exists: bool
    exists: bool  # the path is already this branch's worktree (reused as it is)
    warning: str | None = None

    def session_fields(self) -> dict[str, str]:
        """kugetsu's field names, plus the base that `destroy` compares the branch with."""
        return {
            "worktree_path": str(self.path),
            "branch_name": self.branch,
            "repo": str(self.repo),
            "worktree_base": self.base,
            "worktree_base_commit": self.base_commit,
        }


def plan_worktree(settings: WorktreeSettings, ref: IssueRef, name: str, agent_dir: str) -> WorktreePlan | None:
    if not settings.enabled:
        return None
    repository = resolve_repository(settings, ref, agent_dir)
    if repository is None:
        return None
    repo = repository.top
    branch = render_branch(
        settings.branch,
        {"number": str(ref.number), "owner": ref.owner, "repo": ref.repo, "host": ref.host, "name": name},
    )
    if git_ok(["check-ref-format", "--branch", branch], repo) is None or branch.startswith("-"):
        raise GitError(
            f"invalid branch template {settings.branch!r}: it gives {branch!r}, which git refuses "
            "as a branch name; fix [worktrees] branch in config.toml"
        )
    path = settings.root / name
    branch_exists = git_ok(["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], repo) is not None
    base = settings.base or default_base(repo)
    base_commit = git_ok(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], repo)
    if base_commit is None:
        raise GitError(f"the worktree base {base!r} is not a commit in {repo}: fix [worktrees] base in config.toml")
    holder = checked_out_at(repo, branch)
    exists = os.path.lexists(path)
    if exists and (holder is None or not same_path(holder, path)):
        raise GitError(
            f"cannot create the worktree at {path}: the path exists and is not the worktree of "
            f"branch {branch}; move it away or destroy the session that holds it"
        )
    if holder is not None and not exists:
        raise GitError(
            f"branch {branch} is already checked out in the worktree {holder}: "
            "remove that worktree first (git worktree remove)"
        )
    return WorktreePlan(repo, path, branch, base, base_commit, branch_exists, exists, repository.warning)


def default_base(repo: Path) -> str:
    """The remote's default branch (origin/HEAD) if known, else the main checkout's current branch."""
    remote_head = git_ok(["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], repo)
    if remote_head:
        return remote_head
    return git_ok(["symbolic-ref", "--quiet", "--short", "HEAD"], repo) or "HEAD"


def create_worktree(plan: WorktreePlan) -> None:
    """Make the planned worktree; an existing branch is checked out as it is, never reset."""
    if plan.exists:
        return
    try:
        plan.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise GitError(f"cannot create the worktree root {plan.path.parent}: {exc.strerror or exc}") from None
    if plan.branch_exists:
        run_git(["worktree", "add", "--", str(plan.path), plan.branch], plan.repo)
        return
    run_git(["worktree", "add", "-b", plan.branch, "--", str(plan.path), plan.base], plan.repo)


def discard_started_worktree(
    repo: Path, path: Path, branch: str, base_commit: str, *, made_path: bool, made_branch: bool
) -> None:
    """Undo a start's worktree even if the start died half-way through `git worktree add`: the path
    (if the start made it) and the branch (if it made it and it holds nothing but the base)."""
    if made_path:
        run_git(["worktree", "remove", "--force", "--", str(path)], repo, check=False)
        if os.path.lexists(path):
            import shutil

            shutil.rmtree(path)  # a checkout cut short before git registered it: nothing of the agent's yet
        run_git(["worktree", "prune"], repo)
    ref = f"refs/heads/{branch}"
    if (
        made_branch
        and git_ok(["rev-parse", "--verify", "--quiet", ref], repo)
        and not commits_ahead(repo, base_commit, ref)
    ):
        run_git(["branch", "-D", "--", branch], repo)  # nothing on it but the base: nothing lost


def commits_ahead(repo: Path, base: str, tip: str) -> int:
    return int(git_text(["rev-list", "--count", f"{base}..{tip}"], repo) or "0")


def worktrees(repo: Path) -> list[tuple[Path, str | None]]:
    """(path, branch ref) of every worktree of `repo`, from `git worktree list --porcelain`."""
    found: list[tuple[Path, str | None]] = []
    path: Path | None = None
    branch: str | None = None
    for line in [*git_text(["worktree", "list", "--porcelain"], repo).splitlines(), ""]:
        if line.startswith("worktree "):
            path, branch = Path(line[len("worktree ") :]), None
        elif line.startswith("branch "):
            branch = line[len("branch ") :]
        elif not line and path is not None:
            found.append((path, branch))
            path = None
    return found


def checked_out_at(repo: Path, branch: str) -> Path | None:
    """The worktree that has `branch` checked out, if any."""
    for path, ref in worktrees(repo):
        if ref == f"refs/heads/{branch}":
            return path
    return None


def same_path(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def repo_of_worktree(path: Path) -> Path | None:
    """The main checkout of a linked worktree (for sessions made by kugetsu, which record no repo)."""
    common = git_ok(["rev-parse", "--path-format=absolute", "--git-common-dir"], path) if path.is_dir() else None
    if not common or Path(common).name != ".git":
        return None
    return Path(common).parent
