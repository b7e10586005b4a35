"""How far a session's worktree has come: files changed and commits ahead of its base.

It runs git, so callers with a UI call it from a worker thread. Read-only git: `git status` would
otherwise refresh (rewrite) the worktree's index under the agent working in it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from kugetsu_tui.base.git import GitError, git_ok, run_git
from kugetsu_tui.base.text import counted
from kugetsu_tui.worktrees.saved_work import WorktreeRecord


class Progress(NamedTuple):
    files_changed: int  # differing from the base: committed, uncommitted or untracked
    commits_ahead: int
    uncommitted: int  # of those, not committed yet (modified, staged or untracked)

    def summary(self) -> str:
        """`1 file changed (0 not committed), 2 commits ahead of the base`."""
        return (
            f"{counted(self.files_changed, 'file')} changed ({self.uncommitted} not committed), "
            f"{counted(self.commits_ahead, 'commit')} ahead of the base"
        )


def worktree_progress(session_data: dict[str, Any]) -> Progress | None:
    """None when the session has no worktree, or it is gone or unreadable."""
    try:
        record = WorktreeRecord.of(session_data)
        if record is None or not record.path.is_dir():
            return None
        base = record.base_tip()
        if base is None:
            return None
        ahead = int(git_ok(["rev-list", "--count", f"{base}..HEAD"], record.path) or "0")
        merge_base = git_ok(["merge-base", base, "HEAD"], record.path) or base
        tracked = _names(run_git(["diff", "--name-only", "-z", merge_base], record.path, read_only=True).stdout)
        status = _names(
            run_git(
                ["status", "--porcelain", "-z", "--untracked-files=all", "--no-renames"], record.path, read_only=True
            ).stdout
        )
    except GitError:
        return None
    untracked = {line[3:] for line in status if line.startswith("?? ")}
    return Progress(len(tracked | untracked), ahead, len([line for line in status if len(line) > 3]))


def _names(output: bytes) -> set[str]:
    return {name for name in output.decode("utf-8", "surrogateescape").split("\0") if name}
