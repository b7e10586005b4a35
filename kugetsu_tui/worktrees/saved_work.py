"""Saving what only a worktree holds before it is removed, and putting it back on restore.

A saved worktree is a directory (`worktree/` in the session's archive entry):

    meta.json          repo, worktree_path, branch_name, base, base_commit, head, commits_ahead, files
    commits.bundle     `git bundle` of the branch's commits that are not on the base (only if there are any)
    uncommitted.patch  `git diff --binary HEAD`: changes to tracked files, staged or not (only if any)
    untracked.tar      untracked files that are not ignored, paths relative to the worktree (only if any)

Restore fetches the branch back from the bundle if it is gone, adds the worktree on it, applies the
patch (as unstaged changes) and unpacks the tar.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any, NamedTuple

from kugetsu_tui.base.atomic import write_bytes, write_json
from kugetsu_tui.base.git import GitError, git_ok, git_text, run_git
from kugetsu_tui.worktrees.checkout import checked_out_at, commits_ahead, default_base, repo_of_worktree, same_path

META, BUNDLE, PATCH, UNTRACKED = "meta.json", "commits.bundle", "uncommitted.patch", "untracked.tar"


class WorktreeRecord(NamedTuple):
    """A session's worktree as its file records it (ours, or kugetsu's: then repo and base are derived)."""

    repo: Path
    path: Path
    branch: str
    base: str
    base_commit: str | None

    @classmethod
    def of(cls, data: dict[str, Any], default: str = "") -> WorktreeRecord | None:
        """None when the session has no worktree; a GitError when its repository cannot be found."""
        path, branch = data.get("worktree_path"), data.get("branch_name")
        if not isinstance(path, str) or not os.path.isabs(path) or not isinstance(branch, str) or not branch:
            return None
        repo = data.get("repo")
        repo_path = Path(repo) if isinstance(repo, str) and os.path.isabs(repo) else repo_of_worktree(Path(path))
        if repo_path is None or not repo_path.is_dir():
            raise GitError(f"the repository of worktree {path} is not known or gone ({repo!r})")
        base = data.get("worktree_base")
        base = base if isinstance(base, str) and base else default or default_base(repo_path)
        recorded = data.get("worktree_base_commit")
        return cls(repo_path, Path(path), branch, base, recorded if isinstance(recorded, str) and recorded else None)

    def base_tip(self) -> str | None:
        """The base as it is now (it moves when work is merged), else the commit it was at the start."""
        return git_ok(["rev-parse", "--verify", "--quiet", f"{self.base}^{{commit}}"], self.repo) or self.base_commit


def save_work(record: WorktreeRecord, dest: Path) -> dict[str, Any]:
    """Write the worktree's unique work into `dest` (created); returns what meta.json says."""
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "format": 1,
        "repo": str(record.repo),
        "worktree_path": str(record.path),
        "branch_name": record.branch,
        "base": record.base,
    }
    if not record.path.is_dir():
        meta.update(missing=True)
        write_json(dest / META, meta)
        return meta
    base = record.base_commit or record.base_tip()
    head = git_text(["rev-parse", "HEAD"], record.path)
    branch_ref = f"refs/heads/{record.branch}"
    tip = git_ok(["rev-parse", "--verify", "--quiet", branch_ref], record.repo)
    ahead = commits_ahead(record.repo, base, branch_ref) if base and tip else 0
    if ahead:
        run_git(["bundle", "create", "--quiet", str(dest / BUNDLE), branch_ref, f"^{base}"], record.repo)
    patch = run_git(["diff", "--binary", "HEAD"], record.path).stdout
    if patch:
        write_bytes(dest / PATCH, patch)
    untracked = _untracked(record.path)
    if untracked:
        write_bytes(dest / UNTRACKED, _tar(record.path, untracked))
    meta.update(
        base_commit=base,
        head=head,
        branch_tip=tip,
        commits_ahead=ahead,
        uncommitted_patch=bool(patch),
        untracked=untracked,
    )
    write_json(dest / META, meta)
    return meta


def remove_worktree(record: WorktreeRecord) -> list[str]:
    """`git worktree remove` + prune; the branch goes (`git branch -d`) only when all of it is on the base.

    Call only after `save_work`. Problems are warnings: the work is saved either way.
    """
    warnings = []
    if record.path.is_dir():
        result = run_git(["worktree", "remove", "--force", "--", str(record.path)], record.repo, check=False)
        if result.returncode:
            warnings.append(f"worktree {record.path} was not removed: {result.stderr.decode(errors='replace')[-200:]}")
    run_git(["worktree", "prune"], record.repo, check=False)
    base = record.base_tip()
    branch_ref = f"refs/heads/{record.branch}"
    if (
        base
        and git_ok(["rev-parse", "--verify", "--quiet", branch_ref], record.repo)
        and commits_ahead(record.repo, base, branch_ref) == 0
    ):
        result = run_git(["branch", "-d", "--", record.branch], record.repo, check=False)
        if result.returncode:
            warnings.append(f"branch {record.branch} kept: {result.stderr.decode(errors='replace').strip()[-200:]}")
    return warnings


def unchanged_since_saved(record: WorktreeRecord, saved: Path) -> bool:
    """Whether the worktree still holds just what `saved` holds: the same HEAD, uncommitted diff and
    untracked files. A destroy finished by recovery long after its kill removes the worktree only then,
    and work done in it meanwhile is in no entry. Any doubt (a git error) says changed: it is kept."""
    meta = _read_meta(saved)
    if meta.get("missing") or not record.path.is_dir():
        return True  # no worktree then, or none now: nothing to lose
    try:
        if git_ok(["rev-parse", "HEAD"], record.path) != meta.get("head"):
            return False
        patch = run_git(["diff", "--binary", "HEAD"], record.path).stdout
        if patch != ((saved / PATCH).read_bytes() if (saved / PATCH).exists() else b""):
            return False
        untracked = _untracked(record.path)
        if untracked != meta.get("untracked", []):
            return False
        return not untracked or _tar(record.path, untracked) == (saved / UNTRACKED).read_bytes()
    except (GitError, OSError):
        return False


def restore_work(record: WorktreeRecord, saved: Path | None) -> bool:
    """Recreate the worktree on its branch and re-apply the saved work; True if the branch was recreated."""
    meta = _read_meta(saved)
    holder = checked_out_at(record.repo, record.branch)
    if holder is not None and not same_path(holder, record.path):
        raise GitError(f"branch {record.branch} is already checked out in the worktree {holder}")
    if os.path.lexists(record.path) and holder is None:
        raise GitError(f"cannot restore the worktree at {record.path}: the path exists and is not its worktree")
    branch_ref = f"refs/heads/{record.branch}"
    recreated = False
    if git_ok(["rev-parse", "--verify", "--quiet", branch_ref], record.repo) is None:
        recreated = True
        if saved is not None and (saved / BUNDLE).exists():
            run_git(["fetch", "--quiet", "--no-tags", str(saved / BUNDLE), f"{branch_ref}:{branch_ref}"], record.repo)
        else:
            start = str(meta.get("head") or record.base_commit or record.base)
            run_git(["branch", "--no-track", "--", record.branch, start], record.repo)
    try:
        if holder is None:
            record.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            run_git(["worktree", "add", "--", str(record.path), record.branch], record.repo)
        if saved is not None and (saved / PATCH).exists():
            run_git(["apply", "--binary", "--whitespace=nowarn", str(saved / PATCH)], record.path)
        if saved is not None and (saved / UNTRACKED).exists():
            _untar(saved / UNTRACKED, record.path)
    except (GitError, OSError) as exc:
        if holder is None:
            run_git(["worktree", "remove", "--force", "--", str(record.path)], record.repo, check=False)
            run_git(["worktree", "prune"], record.repo, check=False)
        if recreated:
            run_git(["branch", "-D", "--", record.branch], record.repo, check=False)
        raise GitError(f"cannot restore the worktree {record.path}: {exc}") from None
    return recreated


def discard_restored_worktree(record: WorktreeRecord, *, made_path: bool, made_branch: bool) -> None:
    """Undo an unfinished restore_work (even one killed half-way): the saved work is still in the archive."""
    if made_path:
        run_git(["worktree", "remove", "--force", "--", str(record.path)], record.repo, check=False)
        if os.path.lexists(record.path):
            shutil.rmtree(record.path)  # a checkout killed before git registered it
        run_git(["worktree", "prune"], record.repo, check=False)
    if made_branch and git_ok(["rev-parse", "--verify", "--quiet", f"refs/heads/{record.branch}"], record.repo):
        run_git(["branch", "-D", "--", record.branch], record.repo, check=False)


def _read_meta(saved: Path | None) -> dict[str, Any]:
    if saved is None:
        return {}
    try:
        meta = json.loads((saved / META).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _untracked(worktree: Path) -> list[str]:
    out = run_git(["ls-files", "--others", "--exclude-standard", "-z"], worktree).stdout
    return [name for name in out.decode("utf-8", "surrogateescape").split("\0") if name]


def _tar(root: Path, names: list[str]) -> bytes:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in names:
            tar.add(root / name, arcname=name, recursive=False)
    return buffer.getvalue()


def _untar(archive: Path, root: Path) -> None:
    import tarfile

    with tarfile.open(archive, mode="r") as tar:
        tar.extractall(root, filter="tar")  # refuses absolute paths and paths leaving the worktree
