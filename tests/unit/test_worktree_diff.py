"""The worktree diff (worktrees/diff.py) on real git repositories, against git's own numstat.

Each kind of change: a commit, a modified file, an untracked file, a binary file, a rename, a deletion,
a 50,000-line file; the index is compared byte for byte before and after, and the CLI's `diff`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.worktrees.diff import (
    MAX_PATCH_LINES,
    Section,
    Status,
    WorktreeDiff,
    load_patch,
    read_diff,
    worktree_record,
)
from kugetsu_tui.worktrees.saved_work import WorktreeRecord
from tests.helpers import assert_one_line_error, make_home, run_cli, write_session
from tests.unit.worktree_support import git, make_repo

BIG = 50_000


def _worktree(tmp_path: Path) -> tuple[Path, Path, WorktreeRecord]:
    """main with a few files; a worktree on fix/1 with every kind of change, committed and not."""
    repo = make_repo(tmp_path / "repo")
    (repo / "keep.txt").write_text("one\ntwo\nthree\n")
    (repo / "gone.txt").write_text("bye\n")
    (repo / "note.txt").write_text("a note\n")
    (repo / "moved.txt").write_text("".join(f"line {i}\n" for i in range(40)))
    (repo / "old.bin").write_bytes(b"\0\1\2" * 100)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "files")
    path = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "fix/1", str(path), "main")
    # committed: a modification, a rename with an edit, a deletion, a binary change, a big new file
    (path / "keep.txt").write_text("one\n2\nthree\nfour\n")
    git(path, "mv", "moved.txt", "renamed.txt")
    with open(path / "renamed.txt", "a") as handle:
        handle.write("line 40\n")
    git(path, "rm", "-q", "gone.txt")
    (path / "old.bin").write_bytes(b"\0\3\4" * 120)
    (path / "big.txt").write_text("".join(f"{i}\n" for i in range(BIG)))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "work")
    # uncommitted: one staged, one not, a deletion of a tracked file
    (path / "keep.txt").write_text("one\n2\nthree\nfour\nfive\n")
    (path / "README.md").write_text("# widgets\nstaged\n")
    git(path, "add", "README.md")
    os.unlink(path / "note.txt")
    # untracked: text, binary, no final newline, empty, in a new directory; an ignored one left out
    (path / "new.txt").write_text("a\nb\n")
    (path / "blob.dat").write_bytes(b"\x89PNG\0\0data")
    (path / "tail.txt").write_text("no newline")
    (path / "empty.txt").write_text("")
    (path / "sub").mkdir()
    (path / "sub" / "deep.txt").write_text("x\ny\nz\n")
    (path / "debug.log").write_text("ignored\n")
    record = WorktreeRecord(repo, path, "fix/1", "main", None)
    return repo, path, record


def _numstat(path: Path, *args: str) -> dict[str, tuple[int | None, int | None]]:
    """git's own counts by (new) path: `-` (binary) as None."""
    out = subprocess.run(
        ["git", "diff", "--numstat", "-z", "-M", *args], cwd=path, capture_output=True, check=False
    ).stdout.decode()
    counts: dict[str, tuple[int | None, int | None]] = {}
    fields = out.split("\0")
    i = 0
    while i < len(fields) and fields[i]:
        added, deleted, name = fields[i].split("\t", 2)
        if not name:  # a rename: the old and the new path follow
            name = fields[i + 2]
            i += 2
        i += 1
        counts[name] = (None, None) if added == "-" else (int(added), int(deleted))
    return counts


def _untracked_numstat(path: Path, name: str) -> tuple[int | None, int | None]:
    out = subprocess.run(
        ["git", "diff", "--no-index", "--numstat", "--", os.devnull, name], cwd=path, capture_output=True, text=True
    ).stdout
    added, deleted, _ = out.split("\t", 2)
    return (None, None) if added == "-" else (int(added), int(deleted))


def _counts(diff: WorktreeDiff, section: Section) -> dict[str, tuple[int | None, int | None]]:
    return {c.path: (c.additions, c.deletions) for c in diff.section(section)}


def test_counts_equal_gits_own_numstat_in_every_section(tmp_path: Path) -> None:
    repo, path, record = _worktree(tmp_path)
    diff = read_diff(record)
    merge_base = git(path, "merge-base", "main", "HEAD")
    assert diff.merge_base == merge_base and diff.head == git(path, "rev-parse", "HEAD")
    assert diff.base == "main" and diff.base_commit == git(repo, "rev-parse", "main")
    assert diff.commits_ahead == 1
    assert _counts(diff, Section.COMMITTED) == _numstat(path, merge_base, "HEAD")
    assert _counts(diff, Section.UNCOMMITTED) == _numstat(path, "HEAD")
    untracked = git(path, "ls-files", "--others", "--exclude-standard").splitlines()
    assert sorted(_counts(diff, Section.UNTRACKED)) == sorted(untracked)
    assert "debug.log" not in untracked
    for name in untracked:
        assert _counts(diff, Section.UNTRACKED)[name] == _untracked_numstat(path, name), name


def test_status_of_each_kind_of_change(tmp_path: Path) -> None:
    _, _, record = _worktree(tmp_path)
    diff = read_diff(record)
    committed = {c.path: c for c in diff.section(Section.COMMITTED)}
    assert committed["keep.txt"].status == Status.MODIFIED
    assert committed["renamed.txt"].status == Status.RENAMED and committed["renamed.txt"].old_path == "moved.txt"
    assert committed["gone.txt"].status == Status.DELETED
    assert committed["big.txt"].status == Status.ADDED and committed["big.txt"].additions == BIG
    assert committed["old.bin"].binary and committed["old.bin"].status == Status.MODIFIED
    uncommitted = {c.path: c.status for c in diff.section(Section.UNCOMMITTED)}
    assert uncommitted == {"keep.txt": Status.MODIFIED, "README.md": Status.MODIFIED, "note.txt": Status.DELETED}
    untracked = {c.path: c for c in diff.section(Section.UNTRACKED)}
    assert {c.status for c in untracked.values()} == {Status.ADDED}
    assert untracked["blob.dat"].binary and not untracked["new.txt"].binary
    totals = diff.totals()
    assert totals.files == len({c.path for c in diff.files})
    assert totals.uncommitted == len(uncommitted) + len(untracked)


def test_the_index_is_unchanged_by_reading_the_diff_and_every_patch(tmp_path: Path) -> None:
    _, path, record = _worktree(tmp_path)
    index = Path(git(path, "rev-parse", "--path-format=absolute", "--git-path", "index"))
    before = index.read_bytes()
    os.utime(index, (1, 1))  # an index older than the files: a refreshing command would rewrite it
    diff = read_diff(record)
    for change in diff.files:
        load_patch(diff, change)
    assert index.read_bytes() == before and index.stat().st_mtime == 1
    assert git(path, "ls-files", "--", "new.txt") == ""  # no intent-to-add entry


def test_a_patch_is_gits_own_and_loaded_on_demand(tmp_path: Path) -> None:
    _, path, record = _worktree(tmp_path)
    diff = read_diff(record)
    merge_base = diff.merge_base
    by_key = {(c.section, c.path): c for c in diff.files}
    renamed = load_patch(diff, by_key[(Section.COMMITTED, "renamed.txt")])
    expected = git(path, "diff", "-M", merge_base, "HEAD", "--", "moved.txt", "renamed.txt")
    assert renamed.summary is None and "\n".join(renamed.lines) == expected
    assert "rename from moved.txt" in renamed.lines
    big = load_patch(diff, by_key[(Section.COMMITTED, "big.txt")])
    assert sum(1 for line in big.lines if line.startswith("+") and not line.startswith("+++")) == BIG
    staged = load_patch(diff, by_key[(Section.UNCOMMITTED, "README.md")])
    assert "+staged" in staged.lines
    new = load_patch(diff, by_key[(Section.UNTRACKED, "sub/deep.txt")])
    assert new.lines[-3:] == ["+x", "+y", "+z"] and "new file mode 100644" in new.lines


def test_binary_and_huge_files_are_summarised(tmp_path: Path) -> None:
    _, _, record = _worktree(tmp_path)
    diff = read_diff(record)
    by_key = {(c.section, c.path): c for c in diff.files}
    binary = load_patch(diff, by_key[(Section.COMMITTED, "old.bin")])
    assert binary.lines == [] and binary.summary == "binary file, modified: 360 bytes"
    untracked_binary = load_patch(diff, by_key[(Section.UNTRACKED, "blob.dat")])
    assert untracked_binary.summary == "binary file, added: 10 bytes"
    huge = by_key[(Section.COMMITTED, "big.txt")]._replace(additions=MAX_PATCH_LINES + 1)
    summary = load_patch(diff, huge)
    assert summary.lines == [] and summary.summary and "too large" in summary.summary
    assert load_patch(diff, huge, limit=False).lines  # the CLI prints it whole


def test_base_is_named_and_work_merged_into_it_is_not_the_branchs(tmp_path: Path) -> None:
    repo, path, record = _worktree(tmp_path)
    (repo / "other.txt").write_text("merged elsewhere\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "someone else's work")
    diff = read_diff(record)
    assert "other.txt" not in {c.path for c in diff.files}
    assert diff.base_commit == git(repo, "rev-parse", "main") != diff.merge_base
    assert diff.describe_base() == (
        f"fix/1 against main at {diff.base_commit[:8]} (merge base {diff.merge_base[:8]}), 1 commit ahead"
    )


def test_a_clean_worktree_has_no_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "worktree", "add", "-q", "-b", "fix/2", str(tmp_path / "clean"), "main")
    diff = read_diff(WorktreeRecord(repo, tmp_path / "clean", "fix/2", "main", None))
    assert diff.files == [] and diff.totals().describe() == "no changes"


def _session_home(tmp_path: Path, record: WorktreeRecord) -> Home:
    home = make_home(tmp_path)
    write_session(
        home,
        "github.com-acme-widgets-1",
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#1",
            "opencode_session_id": "ses_0123456789abcdefghijklmnop",
            "state": "idle",
            "worktree_path": str(record.path),
            "branch_name": record.branch,
            "repo": str(record.repo),
            "worktree_base": "main",
        },
    )
    return home


def test_the_cli_prints_stat_names_and_patches(tmp_path: Path) -> None:
    _, path, record = _worktree(tmp_path)
    home = _session_home(tmp_path, record)
    stat = run_cli(home, "diff", "acme/widgets#1", "--stat")
    assert stat.returncode == 0, stat.stderr
    assert stat.stdout.startswith("github.com-acme-widgets-1: fix/1 against main at ")
    assert "\ncommitted (5 files):\n" in stat.stdout and "\nuntracked (5 files):\n" in stat.stdout
    assert "moved.txt => renamed.txt" in stat.stdout and "binary  modified  old.bin" in stat.stdout
    names = run_cli(home, "diff", "github.com-acme-widgets-1", "--name-only")
    assert names.stdout.splitlines() == list(dict.fromkeys(c.path for c in read_diff(record).files))
    whole = run_cli(home, "diff", "acme/widgets#1")
    assert whole.returncode == 0 and "+four" in whole.stdout and "old.bin: binary file, modified" in whole.stdout
    assert whole.stdout.count("\n+") >= BIG


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, "has no worktree"),
        ({"worktree_path": "/nonexistent/wt", "branch_name": "fix/1", "repo": "{repo}"}, "is gone"),
    ],
)
def test_the_cli_refuses_in_one_line(tmp_path: Path, fields: dict[str, str], words: str) -> None:
    repo = make_repo(tmp_path / "repo")
    home = make_home(tmp_path)
    data = {"type": "forked", "state": "idle", **{k: v.replace("{repo}", str(repo)) for k, v in fields.items()}}
    write_session(home, "github.com-acme-widgets-3", data)
    assert_one_line_error(run_cli(home, "diff", "acme/widgets#3"), 1, "cannot diff github.com-acme-widgets-3", words)
    assert_one_line_error(run_cli(home, "diff", "acme/widgets#99"), 1, "no session")
    write_session(home, "github.com-acme-widgets-4", b'{"type": ')
    assert_one_line_error(run_cli(home, "diff", "acme/widgets#4"), 1, "its file is unusable")


def test_worktree_record_refuses_without_a_worktree() -> None:
    from kugetsu_tui.base.errors import KugetsuError

    with pytest.raises(KugetsuError, match="no worktree"):
        worktree_record({"state": "idle"})


def test_diff_size_is_the_totals_read_at_most_every_max_age(tmp_path: Path) -> None:
    from kugetsu_tui.worktrees.diff import diff_size

    _, path, record = _worktree(tmp_path)
    data = {"worktree_path": str(path), "branch_name": "fix/1", "repo": str(record.repo), "worktree_base": "main"}
    first = diff_size(data)
    assert first == read_diff(record).totals().describe() and "uncommitted" in first
    (path / "another.txt").write_text("more\n")
    assert diff_size(data) == first  # within max_age: not read again
    assert diff_size(data, max_age=0) == read_diff(record).totals().describe() != first
    assert diff_size({"state": "idle"}) is None
    assert diff_size({**data, "worktree_path": str(tmp_path / "gone")}) is None
