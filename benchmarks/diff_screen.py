"""The diff screen on a 50,000-line patch, in a real pseudo-terminal: how long until it is on screen,
and how long a jump to its end (and back to its top) takes to be drawn.

    .venv/bin/python -m benchmarks.diff_screen [--lines N] [--jumps N]

The console runs on a throwaway home with one dev session whose worktree committed a Python file of N
lines (highlighted as Python), the only file of its diff: `v` shows it at once. Each figure is the time
from the key being written to the pty until the text it must bring is on the terminal.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.__main__ import child_env, settle
from benchmarks.pty_app import PtyApp

NAME = "github.com-acme-widgets-1"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def make_home(root: Path, lines: int) -> Path:
    """A home whose one dev session's worktree committed `big.py` of `lines` lines against main."""
    import tomli_w

    repo, worktree, home = root / "repo", root / "worktree", root / "home"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main", ".")
    (repo / "README.md").write_text("# bench\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    git(repo, "worktree", "add", "-q", "-b", "fix/issue-1", str(worktree), "main")
    (worktree / "big.py").write_text("".join(f"v{i} = {i}  # line {i}\n" for i in range(lines)))
    git(worktree, "add", "big.py")
    git(worktree, "commit", "-q", "-m", "big")
    (home / "sessions").mkdir(parents=True)
    config = {"worktrees": {"enabled": False}, "forge": {"github.com": {"api": ""}}}
    (home / "config.toml").write_text(tomli_w.dumps(config))
    session = {
        "type": "forked",
        "issue_ref": "github.com/acme/widgets#1",
        "opencode_session_id": "ses_bench0000000000000000000",
        "state": "idle",
        "worktree_path": str(worktree),
        "branch_name": "fix/issue-1",
        "repo": str(repo),
        "worktree_base": "main",
    }
    (home / "sessions" / f"{NAME}.json").write_text(json.dumps(session))
    return home


def press(app: PtyApp, key: bytes, marker: bytes) -> float:
    """Seconds from writing `key` until `marker` is drawn after it."""
    import os

    since = app.offset
    sent = time.monotonic()
    os.write(app.master, key)
    return app.wait_for(marker, since=since, timeout=60) - sent


def run(lines: int, jumps: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as work:
        home = make_home(Path(work), lines)
        app = PtyApp([sys.executable, "-m", "kugetsu_tui", "--home", str(home)], child_env())
        try:
            app.wait_for(b"acme/widgets#1", timeout=60)
            settle(app)
            shown = press(app, b"v", b"# line 0\x1b")
            settle(app)
            press(app, b"\t", b"")  # focus the patch
            time.sleep(0.3)
            to_end, to_top = [], []
            for _ in range(jumps):
                to_end.append(press(app, b"\x1b[F", f"# line {lines - 1}\x1b".encode()))
                time.sleep(0.2)
                to_top.append(press(app, b"\x1b[H", b"# line 0\x1b"))
                time.sleep(0.2)
        finally:
            app.close()
    return {
        "lines": lines,
        "v_to_patch_on_screen_ms": round(shown * 1000, 1),
        "end_p50_ms": round(statistics.median(to_end) * 1000, 1),
        "end_max_ms": round(max(to_end) * 1000, 1),
        "home_p50_ms": round(statistics.median(to_top) * 1000, 1),
        "home_max_ms": round(max(to_top) * 1000, 1),
        "jumps": jumps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--jumps", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.lines, args.jumps), indent=2))


if __name__ == "__main__":
    main()
