"""Is a session's branch merged into the base? Local git only, offline, read-only.

Ancestry alone sees merge commits and fast-forwards but misses rebases and squashes, the merges
most forges make by default. So, in order:
1. ancestry (`merge-base --is-ancestor`): brought in by a merge commit, or fast-forwarded; a branch that
   never had a commit of its own is an ancestor of its base too and is not finished work, so on the base's
   first-parent line the branch's reflog must show that it moved since it was created;
2. patch ids (`git cherry`): every commit of the branch has an equivalent in the base (rebase merge);
3. the squash's patch id: the branch's whole diff equals one commit's diff in the base;
4. content: every file the branch changed is identical in the base (a squash the base touched since).
A branch changed again after its merge fails all four, so it is open. `git merge-tree --write-tree`
(git >= 2.38) would also answer 4, but it writes objects into the repository; these checks write nothing
(git runs read-only, through base/git.py: `GIT_OPTIONAL_LOCKS=0` keeps even `git status` from
refreshing the index).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from kugetsu_tui.base.git import GitError, run_git

if TYPE_CHECKING:
    import subprocess

from kugetsu_tui.work.states import WorkState

GIT_TIMEOUT = 30.0
SQUASH_SEARCH_COMMITS = 1000


class GitAnswer(NamedTuple):
    state: WorkState
    detail: str


def branch_merged(repo: Path, branch: str, *, base: str = "", worktree: Path | None = None) -> GitAnswer:
    """Whether `branch` is merged into `base` (default: origin/HEAD, else the main checkout's branch)."""
    try:
        return _branch_merged(repo, branch, base, worktree)
    except GitError as exc:
        return GitAnswer(WorkState.UNKNOWN, str(exc))


def _branch_merged(repo: Path, branch: str, base: str, worktree: Path | None) -> GitAnswer:
    if not repo.is_dir():
        return GitAnswer(WorkState.UNKNOWN, f"repository {repo} not found")
    _git(repo, "rev-parse", "--git-dir")
    if branch.startswith("-") or _run(repo, "check-ref-format", f"refs/heads/{branch}", ok=(0, 1)).returncode:
        return GitAnswer(WorkState.UNKNOWN, f"{branch!r} is not a valid branch name")
    base = base or default_base(repo)
    base_commit = _commit(repo, base)
    if base_commit is None:
        return GitAnswer(WorkState.UNKNOWN, f"base {base} not found in {repo}")
    branch_ref = next(
        (ref for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}") if _commit(repo, ref)), None
    )
    if branch_ref is None:
        return GitAnswer(WorkState.UNKNOWN, f"branch {branch} not found in {repo}")
    answer = _compare(repo, branch, branch_ref, base)
    if answer.state == WorkState.MERGED and worktree is not None and worktree.is_dir() and _dirty(worktree):
        return GitAnswer(WorkState.OPEN, f"{answer.detail}, but its worktree has uncommitted changes")
    return answer


def default_base(repo: Path) -> str:
    """origin/HEAD when the clone has it, else the branch the main checkout is on."""
    origin_head = _git(
        repo, "rev-parse", "--verify", "--quiet", "--symbolic-full-name", "refs/remotes/origin/HEAD", ok=(0, 1)
    ).strip()
    if origin_head.startswith("refs/remotes/"):
        return origin_head[len("refs/remotes/") :]
    for line in _git(repo, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("branch refs/heads/"):
            return line[len("branch refs/heads/") :]
        if line == "":
            break  # only the first entry is the main checkout
    raise GitError(f"no base branch in {repo}: no origin/HEAD and the main checkout is on no branch")


def _compare(repo: Path, branch: str, branch_ref: str, base: str) -> GitAnswer:
    if _run(repo, "merge-base", "--is-ancestor", branch_ref, f"{base}^{{commit}}", ok=(0, 1)).returncode == 0:
        if not _on_first_parent_line(repo, branch_ref, base) or _had_own_commits(repo, branch_ref):
            return GitAnswer(WorkState.MERGED, f"merged into {base}")
        return GitAnswer(WorkState.OPEN, f"no commits on {branch} yet")
    fork = _git(repo, "merge-base", branch_ref, base).strip()
    cherry = _git(repo, "cherry", base, branch_ref).split()
    marks = cherry[0::2]
    if marks and all(mark == "-" for mark in marks):
        return GitAnswer(WorkState.MERGED, f"rebased into {base}")
    if _squash_patch_in_base(repo, fork, branch_ref, base):
        return GitAnswer(WorkState.MERGED, f"squash-merged into {base}")
    changed = set(_git(repo, "diff", "--no-ext-diff", "--name-only", "-z", fork, branch_ref).split("\0")) - {""}
    differing = set(_git(repo, "diff", "--no-ext-diff", "--name-only", "-z", base, branch_ref).split("\0")) - {""}
    if changed and not changed & differing:
        return GitAnswer(WorkState.MERGED, f"its changes are all in {base} (squash merge)")
    pending = marks.count("+")
    return GitAnswer(WorkState.OPEN, f"{pending} commit{'s' if pending != 1 else ''} not in {base}")


def _on_first_parent_line(repo: Path, branch_ref: str, base: str) -> bool:
    """True when the base's own line of history passes through the branch's tip: a fast-forward, or a
    branch that never left its fork point. Off that line, a merge commit brought the branch in."""
    line = _git(repo, "rev-list", "--first-parent", "--reverse", f"{base}^{{commit}}", "--not", branch_ref).split()
    if not line:
        return True  # the base is the branch's tip
    return _commit(repo, f"{line[0]}^1") == _commit(repo, branch_ref)


def _had_own_commits(repo: Path, branch_ref: str) -> bool:
    """The branch moved since it was created (its oldest reflog entry); no reflog is an error."""
    entries = _git(repo, "reflog", "show", "--format=%H", branch_ref, "--", ok=(0, 128)).split()
    if not entries:
        raise GitError(f"{branch_ref} is part of its base, and git keeps no record of commits of its own")
    return _commit(repo, branch_ref) != entries[-1]


def _squash_patch_in_base(repo: Path, fork: str, branch_ref: str, base: str) -> bool:
    squash = _patch_ids(repo, _git(repo, "diff", "--no-ext-diff", "--no-color", fork, branch_ref))
    if not squash:
        return False
    log = _git(
        repo, "log", "-p", "--no-ext-diff", "--no-color", f"--max-count={SQUASH_SEARCH_COMMITS}", f"{fork}..{base}"
    )
    return bool(squash & _patch_ids(repo, log))


def _patch_ids(repo: Path, patches: str) -> set[str]:
    return {line.split()[0] for line in _git(repo, "patch-id", "--stable", stdin=patches).splitlines() if line}


def _dirty(worktree: Path) -> bool:
    return bool(_git(worktree, "status", "--porcelain", "-z", "--untracked-files=normal").strip("\0"))


def _commit(repo: Path, rev: str) -> str | None:
    out = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1))
    return out.strip() or None


def _git(repo: Path, *args: str, ok: tuple[int, ...] = (0,), stdin: str | None = None) -> str:
    return _run(repo, *args, ok=ok, stdin=stdin).stdout.decode("utf-8", "replace")


def _run(
    repo: Path, *args: str, ok: tuple[int, ...] = (0,), stdin: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run git read-only in `repo`; an exit status outside `ok` is a GitError with git's last words."""
    data = stdin.encode("utf-8") if stdin is not None else None
    return run_git(list(args), repo, ok=ok, input=data, read_only=True, timeout=GIT_TIMEOUT)
