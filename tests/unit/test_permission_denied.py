"""A directory the command may not write (EACCES) at every command that writes: start, destroy, restore,
queue add and limit fail with one line and exit 1, change nothing, lose nothing, and work once the
directory is writable again.

Root ignores file modes, so as root the CLI runs with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped
from its bounding set (`setpriv`): it then meets the modes as any unprivileged user does, and so do the
supervisor and the agent it launches.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from kugetsu_tui.base.home import Home
from tests.helpers import (
    PY,
    assert_one_line_error,
    cli_env,
    demo_agent_config,
    demo_store,
    dev_files,
    make_home,
    run_cli,
    snapshot_tree,
    store_ids,
    wait_state,
)
from tests.unit.worktree_support import REPO_KEY, branches, configure, make_repo, worktree_paths

NAME, REF = "github.com-shoko-kugetsu-49", "github.com/shoko/kugetsu#49"
UNPRIVILEGED = ["--bounding-set=-dac_override,-dac_read_search"]


def unprivileged_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []  # file modes already apply
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("setpriv (util-linux) is needed to run the CLI as root without CAP_DAC_OVERRIDE")
        pytest.skip("setpriv is not installed")
    return [setpriv, *UNPRIVILEGED]


def run_denied(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as an unprivileged process, stdin not a terminal."""
    return subprocess.run(
        [*unprivileged_prefix(), PY, "-m", "kugetsu_tui", *args],
        env=cli_env(home),
        cwd=home.root.parent,
        text=True,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def read_only(path: Path) -> Callable[[], None]:
    """Make `path` read-only (r-x), and return what makes it writable again."""
    mode = stat.S_IMODE(path.stat().st_mode)
    path.chmod(0o500)
    return lambda: path.chmod(mode)


@pytest.fixture
def home(tmp_path):
    home = make_home(tmp_path)
    demo_agent_config(home, cwd=str(tmp_path))
    home.ensure()
    return home


def started(home: Home) -> str:
    assert run_cli(home, "start", REF, "first").returncode == 0
    return wait_state(home, NAME, "idle")["opencode_session_id"]


def destroyed(home: Home) -> str:
    sid = started(home)
    assert run_cli(home, "destroy", REF, "-y").returncode == 0
    return sid


def transcript_kept(home: Home, sid: str) -> bool:
    """The session's transcript is in opencode (the demo store) or exported into an archive entry."""
    exports = [p for p in home.archive_dir.glob("*/export.json")] if home.archive_dir.is_dir() else []
    return sid in store_ids(demo_store(home)) or any(sid.encode() in p.read_bytes() for p in exports)


def state_of(home: Home) -> dict[str, tuple[int, bytes]]:
    """What a refused command must leave as it was, byte for byte: the sessions, the archive, the queue,
    config.toml and the index (as data: a rollback may rewrite it). Not compared: logs, the operation
    locks, the directory cache (session-dirs.json) and the slot ledger (a record of what was tried), which
    hold nothing of the user's."""
    kept = {}
    for raw, (mode, content) in snapshot_tree(home.root).items():
        name = os.fsdecode(raw)
        if name.split("/")[0] in ("logs", "journal", "session-dirs.json", "ledger.jsonl") or name == "sessions/.lock":
            continue
        if name == "index.json":
            mode, content = 0, json.dumps(json.loads(content), sort_keys=True).encode()
        kept[name] = (mode, content)
    return kept


def leftovers(home: Home) -> list[str]:
    """An operation's traces that must never outlive it: intent records, staging directories, temp files."""
    found = [str(p) for p in home.root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".staging-")]
    return found + [str(p) for p in (home.root / "journal").glob("*.json")]


# (command, what is read-only, how to prepare the home, what must hold after the refusal)
CASES = [
    ("start", "sessions", lambda h: None, lambda h, _: dev_files(h) == []),
    ("start", "logs", lambda h: None, lambda h, _: dev_files(h) == []),
    ("start", "root", lambda h: None, lambda h, _: dev_files(h) == []),
    ("destroy", "archive", started, lambda h, sid: dev_files(h) == [f"{NAME}.json"] and transcript_kept(h, sid)),
    ("destroy", "sessions", started, lambda h, sid: dev_files(h) == [f"{NAME}.json"] and transcript_kept(h, sid)),
    ("restore", "sessions", destroyed, lambda h, sid: dev_files(h) == [] and transcript_kept(h, sid)),
    ("queue add", "queue/items", lambda h: None, lambda h, _: list(h.queue_items_dir.glob("*.json")) == []),
    # The session is back but its entry cannot be removed: the error says so, and recovery finishes it.
    ("restore", "archive", destroyed, lambda h, sid: dev_files(h) == [f"{NAME}.json"] and transcript_kept(h, sid)),
    ("limit", "root", lambda h: None, lambda h, _: "max_concurrent_agents" not in h.config_toml.read_text()),
]
ARGS = {
    "start": ("start", REF, "work"),
    "destroy": ("destroy", REF, "-y"),
    "restore": ("restore", NAME),
    "queue add": ("queue", "add", REF, "later"),
    "limit": ("limit", "2"),
}


@pytest.mark.parametrize(("command", "where", "prepare", "kept"), CASES, ids=[f"{c}-{w}" for c, w, _, _ in CASES])
def test_a_directory_it_may_not_write_refuses_in_one_line_changes_nothing_and_loses_nothing(
    home, command, where, prepare, kept
):
    sid = prepare(home)
    (home.queue_items_dir).mkdir(parents=True, exist_ok=True)
    target = home.root if where == "root" else home.root / where
    before = state_of(home)
    writable_again = read_only(target)
    try:
        result = run_denied(home, *ARGS[command])
    finally:
        writable_again()
    assert_one_line_error(result, 1)
    assert "ermission denied" in result.stderr or "cannot" in result.stderr, result.stderr
    assert kept(home, sid), result.stderr
    if (command, where) != ("restore", "archive"):
        assert state_of(home) == before  # nothing of the user's changed
        assert leftovers(home) == []
    again = run_denied(home, *ARGS[command])  # the same command, once the directory is writable
    assert again.returncode == 0, again.stderr
    assert leftovers(home) == []


def test_a_worktree_root_it_may_not_write_refuses_the_start_and_leaves_no_branch(tmp_path):
    home = make_home(tmp_path)
    repo = make_repo(tmp_path / "widgets")
    configure(home, {REPO_KEY: str(repo)}, cwd=str(tmp_path))
    (home.root / "worktrees").mkdir()
    home.ensure()
    before, branches_before = state_of(home), branches(repo)
    writable_again = read_only(home.root / "worktrees")
    try:
        result = run_denied(home, "start", "acme/widgets#3", "work")
    finally:
        writable_again()
    assert_one_line_error(result, 1, "Permission denied")
    assert state_of(home) == before and leftovers(home) == []
    assert branches(repo) == branches_before and worktree_paths(repo) == [str(repo)]
    assert run_denied(home, "start", "acme/widgets#3", "work").returncode == 0


def test_destroy_with_an_archive_it_may_not_write_keeps_the_worktree_and_its_work(tmp_path):
    home = make_home(tmp_path)
    repo = make_repo(tmp_path / "widgets")
    configure(home, {REPO_KEY: str(repo)}, cwd=str(tmp_path))
    assert run_cli(home, "start", "acme/widgets#3", "work").returncode == 0
    worktree = Path(wait_state(home, "github.com-acme-widgets-3", "idle")["worktree_path"])
    (worktree / "untracked.txt").write_text("only here\n")
    home.ensure()
    before = state_of(home)
    writable_again = read_only(home.archive_dir)
    try:
        result = run_denied(home, "destroy", "acme/widgets#3", "-y")
    finally:
        writable_again()
    assert_one_line_error(result, 1, "Permission denied")
    assert state_of(home) == before and leftovers(home) == []
    assert (worktree / "untracked.txt").read_text() == "only here\n"
    assert run_denied(home, "destroy", "acme/widgets#3", "-y").returncode == 0
    assert not worktree.exists() and run_cli(home, "restore", "github.com-acme-widgets-3").returncode == 0
    assert (worktree / "untracked.txt").read_text() == "only here\n"
