"""The CLI killed at every step of destroy, restore and start (SIGKILL at each fault point in turn).

A worktree session with an unmerged commit, a modified tracked file and an untracked file, whose
transcript lives in the demo agent's store (export, delete and import really move it). After each
kill: the work and the transcript are somewhere restorable; after `recover`: no journal, staging
or temp file, no held lock, the active count equals the dev session files, no orphan worktree,
branch or opencode copy; then the same command works and a restore brings everything back.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess

import pytest

from tests.helpers import demo_store, dev_files, make_home, run_cli, store_ids, wait_for, wait_state
from tests.unit.test_worktrees import make_work, snapshot
from tests.unit.worktree_support import REPO_KEY, branches, configure, git, make_repo, worktree_paths

NAME, REF = "github.com-acme-widgets-1", "acme/widgets#1"
KILLED = -9


def assert_not_held(lock) -> None:
    """No stale lock: a lock file left by a kill is not held. The session's supervisor, still finishing
    its last update, may hold the admission lock for a moment; a stale holder holds it for good."""

    def free() -> bool:
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    wait_for(free, 5.0, message=f"{lock} is still held")


class Scene:
    """A directory holding the home, the demo store and the repository, reset by copying a pristine one
    back to the same place (worktrees record absolute paths)."""

    def __init__(self, root):
        self.root = root
        self.home = make_home(root, "home")
        self.repo = make_repo(root / "widgets")
        configure(self.home, {REPO_KEY: str(self.repo)})
        self.worktree = self.home.root / "worktrees" / NAME
        self.saved: dict[str, str] = {}

    def save(self, label):
        copy = self.root.with_name(f"{self.root.name}.{label}")
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.run(["cp", "-a", str(self.root), str(copy)], check=True)
        self.saved[label] = str(copy)

    def reset(self, label):
        shutil.rmtree(self.root)
        subprocess.run(["cp", "-a", self.saved[label], str(self.root)], check=True)

    def cli(self, *args, kill_at=None, trace=None):
        env = {"KUGETSU_TUI_KILL_AT": str(kill_at) if kill_at is not None else None, "KUGETSU_TUI_FAULT_TRACE": trace}
        return run_cli(self.home, *args, env=env)

    def points(self, *args):
        """How many fault points the command passes when nothing kills it (it runs to the end)."""
        trace = str(self.root.with_name("trace"))
        if os.path.exists(trace):
            os.unlink(trace)
        result = self.cli(*args, kill_at=0, trace=trace)
        assert result.returncode == 0, result.stderr
        with open(trace) as handle:
            return sum(1 for _ in handle)

    def transcripts(self):
        """Every copy of the session's transcript: in the store, or exported into an archive entry."""
        found = [json.loads((demo_store(self.home) / f"{self.sid}.json").read_text())] if self.has_sid() else []
        for export in self.home.archive_dir.glob("*/export.json") if self.home.archive_dir.is_dir() else []:
            found.append(json.loads(export.read_text()))
        return [t["messages"] for t in found if t["info"]["id"] == self.sid]

    def has_sid(self):
        return self.sid in store_ids(demo_store(self.home))

    def saved_work(self):
        """Archive entries that are complete and hold the worktree's commit, patch and untracked files."""
        held = []
        for entry in self.home.archive_dir.iterdir() if self.home.archive_dir.is_dir() else []:
            if entry.name.startswith("."):
                continue
            meta = json.loads((entry / "meta.json").read_text())
            parts = {p.name for p in (entry / "worktree").iterdir()} if (entry / "worktree").is_dir() else set()
            if meta.get("complete") and {"commits.bundle", "uncommitted.patch", "untracked.tar"} <= parts:
                held.append(entry)
        return held

    def assert_nothing_lost(self):
        try:
            live = snapshot(self.worktree) == self.before
        except FileNotFoundError:
            live = False  # a restore killed half-way through the worktree: the entry still has it all
        assert live or self.saved_work(), "the work is nowhere"
        assert self.messages in self.transcripts(), "the transcript is nowhere"

    def assert_clean(self):
        home = self.home
        left = os.listdir(home.journal_dir) if home.journal_dir.exists() else []
        assert [f for f in left if not f.endswith(".lock")] == []  # no record, no temp file
        for lock in [home.lock_path, *(home.journal_dir / f for f in left)]:
            assert_not_held(lock)
        leftovers = [
            p
            for d in (home.root, home.sessions_dir, home.archive_dir, home.logs_dir)
            if d.is_dir()
            for p in os.listdir(d)
            if p.endswith(".tmp") or p.startswith((".staging-", ".trash-"))
        ]
        assert leftovers == []
        listing = json.loads(run_cli(home, "ls", "--json").stdout)
        assert listing["active"] == len(dev_files(home))
        expected = [str(self.repo)] + ([str(self.worktree)] if home.session_path(NAME).exists() else [])
        assert sorted(worktree_paths(self.repo)) == sorted(expected)
        if not home.session_path(NAME).exists():
            assert not self.worktree.exists()

    def assert_all_back(self):
        assert snapshot(self.worktree) == self.before and git(self.worktree, "rev-parse", "HEAD") == self.head
        assert (
            git(self.worktree, "status", "--porcelain", "--untracked-files=all")
            == 'M README.md\n?? "new dir/untracked.dat"'
        )
        stored = json.loads((demo_store(self.home) / f"{self.sid}.json").read_text())
        assert stored["messages"] == self.messages
        assert json.loads(self.home.session_path(NAME).read_text())["state"] == "idle"
        assert [p for p in os.listdir(self.home.archive_dir) if not p.startswith(".")] == []
        self.assert_clean()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    scene = Scene(tmp_path_factory.mktemp("crash") / "r")
    scene.save("empty")
    start = scene.cli("start", REF, "work")
    assert start.returncode == 0, start.stderr
    data = wait_state(scene.home, NAME, "idle")
    scene.sid = data["opencode_session_id"]
    make_work(scene.worktree)
    scene.before, scene.head = snapshot(scene.worktree), git(scene.worktree, "rev-parse", "HEAD")
    scene.messages = json.loads((demo_store(scene.home) / f"{scene.sid}.json").read_text())["messages"]
    scene.save("idle")
    assert scene.cli("destroy", NAME, "-y").returncode == 0
    scene.save("destroyed")
    return scene


COUNTS: dict[str, int] = {}


def test_destroy_killed_at_every_step_loses_nothing(scene):
    scene.reset("idle")
    total = scene.points("destroy", NAME, "-y")
    assert total >= 15
    for kill_at in range(1, total + 1):
        scene.reset("idle")
        result = scene.cli("destroy", NAME, "-y", kill_at=kill_at)
        assert result.returncode == KILLED, (kill_at, result.stderr)
        scene.assert_nothing_lost()
        assert scene.cli("recover").returncode == 0
        scene.assert_nothing_lost()
        scene.assert_clean()
        if scene.home.session_path(NAME).exists():  # rolled back: the same command works
            again = scene.cli("destroy", NAME, "-y")
            assert again.returncode == 0, (kill_at, again.stderr)
        assert not scene.has_sid() and len(scene.saved_work()) == 1
        restored = scene.cli("restore", NAME)
        assert restored.returncode == 0, (kill_at, restored.stderr)
        scene.assert_all_back()
    COUNTS["destroy"] = total


def test_restore_killed_at_every_step_loses_nothing(scene):
    scene.reset("destroyed")
    total = scene.points("restore", NAME)
    assert total >= 8
    for kill_at in range(1, total + 1):
        scene.reset("destroyed")
        result = scene.cli("restore", NAME, kill_at=kill_at)
        assert result.returncode == KILLED, (kill_at, result.stderr)
        scene.assert_nothing_lost()
        # the interrupted restore blocks neither a restore nor a destroy: the next restore recovers it first
        journal = list(scene.home.journal_dir.glob("*.json")) if scene.home.journal_dir.is_dir() else []
        if journal or not scene.home.session_path(NAME).exists():
            again = scene.cli("restore", NAME)
            assert again.returncode == 0, (kill_at, again.stderr)
        scene.assert_all_back()
    COUNTS["restore"] = total


def test_start_killed_at_every_step_leaves_nothing_behind(scene):
    scene.reset("empty")
    base_ids = store_ids(demo_store(scene.home))
    total = scene.points("start", REF, "work")
    assert total >= 8
    for kill_at in range(1, total + 1):
        scene.reset("empty")
        result = scene.cli("start", REF, "work", kill_at=kill_at)
        assert result.returncode == KILLED, (kill_at, result.stderr)
        assert scene.cli("recover").returncode == 0
        if scene.home.session_path(NAME).exists():  # its agent had launched: the start stands
            wait_state(scene.home, NAME, "idle")
        else:
            assert "fix/issue-1" not in branches(scene.repo)
            assert store_ids(demo_store(scene.home)) == base_ids, "an opencode copy was left behind"
            again = scene.cli("start", REF, "work")
            assert again.returncode == 0, (kill_at, again.stderr)
            wait_state(scene.home, NAME, "idle")
        scene.assert_clean()
        assert len(store_ids(demo_store(scene.home)) - base_ids) == 1
    COUNTS["start"] = total
    print(f"\nkill points: {COUNTS} ({sum(COUNTS.values())} in all), losses: 0")
