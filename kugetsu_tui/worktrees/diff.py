"""A session's worktree against its base, read-only: what it committed, what it has not, what is new.

The base is the one the worktree was made from (`worktree_base` in the session file, else the
repository's default; see saved_work.WorktreeRecord), compared at its merge base with HEAD, so work
merged into the base meanwhile is not shown as the branch's. Three sections, as a reviewer reads them:

- committed:   merge-base..HEAD
- uncommitted: HEAD against the working tree (staged or not: both are unsaved in the branch)
- untracked:   files git does not know, ignored ones left out

Every git command is a question (`read_only`: no optional locks, no index refresh written) and the
index is never touched: an untracked file is counted by reading it, and its patch comes from
`git diff --no-index /dev/null FILE`, never from `git add -N`. Counts are git's own (`--numstat`:
a binary file has none). A file's patch is loaded only when asked for (`load_patch`); binary files and
files of more than MAX_PATCH_LINES changed lines are summarised instead.
"""

from __future__ import annotations

import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.git import GitError, run_git
from kugetsu_tui.base.text import counted, printable
from kugetsu_tui.worktrees.saved_work import WorktreeRecord

#: A patch of more changed lines than this is summarised, not loaded (the screen stays instant at 50,000).
MAX_PATCH_LINES = 200_000
#: ... and so is one of more bytes (a single enormous line counts as one line).
MAX_PATCH_BYTES = 64 * 1024 * 1024
#: git's own test for a binary file: a NUL byte in its first 8000 bytes (xdiff's buffer_is_binary).
_BINARY_PROBE = 8000
_CHUNK = 1 << 20
_DIFF_OPTIONS = ["--no-color", "--no-ext-diff", "--no-textconv", "-M"]
#: How long a worktree's size stays good for `diff_size`.
SIZE_MAX_AGE = 5.0
_SIZES: dict[str, tuple[float, str | None]] = {}


class Section(StrEnum):
    COMMITTED = "committed"
    UNCOMMITTED = "uncommitted"
    UNTRACKED = "untracked"


class Status(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"
    TYPE_CHANGED = "type changed"


_RAW_STATUS = {
    "A": Status.ADDED,
    "M": Status.MODIFIED,
    "D": Status.DELETED,
    "R": Status.RENAMED,
    "C": Status.COPIED,
    "T": Status.TYPE_CHANGED,
}


class FileChange(NamedTuple):
    """One file of one section; `additions`/`deletions` are None for a binary file (git counts none)."""

    section: Section
    path: str  # relative to the worktree; undecodable bytes kept as surrogates (show with printable)
    status: Status
    additions: int | None
    deletions: int | None
    old_path: str | None = None  # a rename's or copy's source

    @property
    def binary(self) -> bool:
        return self.additions is None

    @property
    def changed_lines(self) -> int:
        return (self.additions or 0) + (self.deletions or 0)

    def label(self) -> str:
        """`status` plus `binary` when it is: what a list shows next to the counts."""
        return f"{self.status}, binary" if self.binary else str(self.status)

    def as_json(self) -> dict[str, Any]:
        return {
            "section": str(self.section),
            "path": self.path,
            "old_path": self.old_path,
            "status": str(self.status),
            "binary": self.binary,
            "additions": self.additions,
            "deletions": self.deletions,
        }


class Totals(NamedTuple):
    files: int
    additions: int
    deletions: int
    uncommitted: int  # files not committed yet: uncommitted or untracked

    def describe(self) -> str:
        """`3 files, +12 -4, 1 uncommitted`: the diff's size in one phrase."""
        if not self.files:
            return "no changes"
        return f"{counted(self.files, 'file')}, +{self.additions} -{self.deletions}, {self.uncommitted} uncommitted"


class WorktreeDiff(NamedTuple):
    worktree: Path
    branch: str
    base: str  # as named: "main", "origin/main"
    base_commit: str  # the base's tip now (or the commit it was at the start, if the name is gone)
    merge_base: str  # where the committed section starts
    head: str
    commits_ahead: int
    files: list[FileChange]

    def section(self, section: Section) -> list[FileChange]:
        return [change for change in self.files if change.section == section]

    def totals(self) -> Totals:
        return Totals(
            len({change.path for change in self.files}),
            sum(change.additions or 0 for change in self.files),
            sum(change.deletions or 0 for change in self.files),
            len({c.path for c in self.files if c.section != Section.COMMITTED}),
        )

    def describe_base(self) -> str:
        """`fix/issue-7 against main at 1a2b3c4d (merge base 0f9e8d7c), 2 commits ahead`."""
        at = f"{self.base} at {self.base_commit[:8]}"
        since = "" if self.merge_base == self.base_commit else f" (merge base {self.merge_base[:8]})"
        ahead = f"{counted(self.commits_ahead, 'commit')} ahead"
        return f"{self.branch} against {at}{since}, {ahead}"

    def as_json(self) -> dict[str, Any]:
        totals = self.totals()
        return {
            "worktree": str(self.worktree),
            "branch": self.branch,
            "base": self.base,
            "base_commit": self.base_commit,
            "merge_base": self.merge_base,
            "head": self.head,
            "commits_ahead": self.commits_ahead,
            "totals": totals._asdict(),
            "files": [change.as_json() for change in self.files],
        }


class FilePatch(NamedTuple):
    """A file's patch as lines, or why it is not shown (`summary`): binary, too large, gone."""

    lines: list[str]
    summary: str | None = None


def diff_size(data: dict[str, Any], *, max_age: float = SIZE_MAX_AGE) -> str | None:
    """`3 files, +12 -4, 1 uncommitted` for a session's worktree, read at most every `max_age` seconds
    per worktree (a preview asks twice a second); None when it has no worktree git can read."""
    path = data.get("worktree_path")
    if not isinstance(path, str):
        return None
    now = time.monotonic()
    cached = _SIZES.get(path)
    if cached is not None and now - cached[0] < max_age:
        return cached[1]
    try:
        size: str | None = read_diff(worktree_record(data)).totals().describe()
    except (KugetsuError, OSError):
        size = None
    _SIZES[path] = (now, size)
    return size


def cached_diff_size(data: dict[str, Any]) -> str | None:
    """The size `diff_size` last read for the session's worktree, however old, without running git:
    for a confirmation drawn on the UI thread (the preview keeps it fresh for the selected row)."""
    path = data.get("worktree_path")
    cached = _SIZES.get(path) if isinstance(path, str) else None
    return cached[1] if cached is not None else None


def worktree_record(data: dict[str, Any]) -> WorktreeRecord:
    """The session's worktree, or one line on why there is none to look at."""
    record = WorktreeRecord.of(data)
    if record is None:
        raise KugetsuError("it has no worktree (worktrees are off, or it runs in the agent directory)")
    if not record.path.is_dir():
        raise KugetsuError(f"its worktree {record.path} is gone")
    return record


def read_diff(record: WorktreeRecord) -> WorktreeDiff:
    """Every changed file of the worktree with git's counts; no patch is read yet."""
    base_commit = record.base_tip()
    if base_commit is None:
        raise GitError(f"the worktree's base {record.base!r} is not a commit in {record.repo}")
    head = _ask(["rev-parse", "--verify", "HEAD"], record.path)
    merge_base = _ask(["merge-base", base_commit, head], record.path, or_else=base_commit)
    ahead = int(_ask(["rev-list", "--count", f"{merge_base}..{head}"], record.path, or_else="0"))
    files = [
        *_tracked(record.path, Section.COMMITTED, [merge_base, head]),
        *_tracked(record.path, Section.UNCOMMITTED, [head]),
        *_untracked(record.path),
    ]
    return WorktreeDiff(record.path, record.branch, record.base, base_commit, merge_base, head, ahead, files)


def load_patch(diff: WorktreeDiff, change: FileChange, *, limit: bool = True) -> FilePatch:
    """The patch of one file, as git prints it; summarised when binary or (with `limit`) too large."""
    if change.binary:
        return FilePatch([], f"binary file, {change.status}: {_size_words(diff, change)}")
    if limit and change.changed_lines > MAX_PATCH_LINES:
        return FilePatch(
            [], f"{change.changed_lines:,} changed lines: too large to show here (e opens the worktree in $EDITOR)"
        )
    if change.section == Section.UNTRACKED:
        args = ["diff", *_DIFF_OPTIONS, "--no-index", "--", os.devnull, change.path]
        out = run_git(args, diff.worktree, ok=(0, 1), read_only=True).stdout
    else:
        commits = [diff.merge_base, diff.head] if change.section == Section.COMMITTED else [diff.head]
        paths = [change.old_path, change.path] if change.old_path else [change.path]
        out = run_git(["diff", *_DIFF_OPTIONS, *commits, "--", *paths], diff.worktree, read_only=True).stdout
    if limit and len(out) > MAX_PATCH_BYTES:
        return FilePatch([], f"a patch of {len(out) // (1024 * 1024)} MiB: too large to show here")
    return FilePatch(out.decode("utf-8", "replace").splitlines())


def patch_line(line: str) -> str:
    """A patch line safe for a terminal: control characters escaped (base/text.py), tabs kept."""
    return "\t".join(printable(part) for part in line.split("\t"))


def _ask(args: list[str], cwd: Path, *, or_else: str | None = None) -> str:
    result = run_git(args, cwd, check=or_else is None, read_only=True)
    text = result.stdout.decode("utf-8", "replace").strip()
    return text if result.returncode == 0 and text else str(or_else)


def _tracked(worktree: Path, section: Section, commits: list[str]) -> list[FileChange]:
    """One `git diff --raw --numstat -z`: the status of each file, then its counts, in the same order."""
    out = run_git(["diff", *_DIFF_OPTIONS, "--raw", "--numstat", "-z", *commits], worktree, read_only=True).stdout
    fields = out.split(b"\0")
    statuses: list[tuple[Status, str, str | None]] = []
    i = 0
    while i < len(fields) and fields[i].startswith(b":"):
        letter = fields[i].split(b" ")[-1][:1].decode()
        if letter in ("R", "C"):
            statuses.append((_RAW_STATUS[letter], _name(fields[i + 2]), _name(fields[i + 1])))
            i += 3
        else:
            statuses.append((_RAW_STATUS.get(letter, Status.MODIFIED), _name(fields[i + 1]), None))
            i += 2
    changes = []
    for status, path, old in statuses:
        added, deleted, name = fields[i].split(b"\t", 2)
        i += 3 if not name else 1  # a rename's numstat: "A\tD\t" then the old and the new path
        binary = added == b"-"
        changes.append(
            FileChange(section, path, status, None if binary else int(added), None if binary else int(deleted), old)
        )
    return changes


def _untracked(worktree: Path) -> list[FileChange]:
    out = run_git(["ls-files", "--others", "--exclude-standard", "-z"], worktree, read_only=True).stdout
    changes = []
    for raw in out.split(b"\0"):
        if not raw:
            continue
        name = _name(raw)
        try:
            lines = _count_lines(worktree / name)
        except OSError:
            lines = None  # unreadable: counted as git would fail to, shown as a file it cannot read
        changes.append(FileChange(Section.UNTRACKED, name, Status.ADDED, lines, None if lines is None else 0))
    return changes


def _count_lines(path: Path) -> int | None:
    """Lines as `git diff --no-index --numstat /dev/null FILE` counts them; None when git calls it binary.

    A symbolic link is its target's name (one line, no newline); a nested repository (a directory) has none.
    """
    if path.is_symlink():
        return 1 if os.readlink(path) else 0
    if path.is_dir():
        return 0
    lines = 0
    last = b"\n"
    with open(path, "rb") as handle:
        first = True
        while chunk := handle.read(_CHUNK):
            if first and b"\0" in chunk[:_BINARY_PROBE]:
                return None
            first = False
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (0 if last == b"\n" else 1)


def _size_words(diff: WorktreeDiff, change: FileChange) -> str:
    """How big a binary file is now (or was, when deleted), for its summary."""
    if change.status != Status.DELETED and change.section != Section.COMMITTED:
        try:
            return f"{os.path.getsize(diff.worktree / change.path):,} bytes"
        except OSError:
            return "size unknown"
    if change.status == Status.DELETED:
        commit = diff.merge_base if change.section == Section.COMMITTED else diff.head
    else:
        commit = diff.head
    size = _ask(["cat-file", "-s", f"{commit}:{change.path}"], diff.worktree, or_else="")
    return f"{int(size):,} bytes" if size.isdigit() else "size unknown"


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
