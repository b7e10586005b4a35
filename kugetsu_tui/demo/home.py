"""A throwaway kugetsu home for trying the console with nothing else installed.

It holds a base and a PM session, dev sessions in every state (idle, running with a live
simulated agent, failed, corrupt) and config.toml templates that drive `demo/agent.py`, a
simulated opencode, so start, continue, destroy, undo and the cap all work for real.
A small git repository stands for github.com/acme/widgets, so dev sessions get worktrees
(without git installed, the demo runs its agents in one directory instead).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import tomli_w

from kugetsu_tui.base.atomic import write_bytes, write_json
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.states import State

DEMO_LIMIT = 5
AGENT_SECONDS = 12


def demo_agent_argv(store: Path, seconds: float, fail: bool = False) -> list[str]:
    """The simulated agent's command prefix; `fail` makes every run fail, like a broken agent."""
    return [
        sys.executable,
        "-m",
        "kugetsu_tui.demo.agent",
        "--store",
        str(store),
        "--seconds",
        str(seconds),
        *(["--fail"] if fail else []),
    ]


def demo_templates(store: Path, seconds: float = AGENT_SECONDS, fail: bool = False) -> dict[str, list[str]]:
    """[agent] templates that drive the simulated agent exactly as opencode's CLI is driven: the default
    templates with the simulated agent in place of the `opencode` program."""
    from kugetsu_tui.opencode.commands import DEFAULT_TEMPLATES

    agent = demo_agent_argv(store, seconds, fail)
    return {step: [*agent, *argv[1:]] for step, argv in DEFAULT_TEMPLATES.items()}


def _new_store_session(store: Path, title: str) -> str:
    """Create a session in the simulated opencode store and return its id."""
    out = subprocess.run(
        [*demo_agent_argv(store, 0), "run", "--title", title, "--format", "json", title],
        capture_output=True,
        check=True,
    ).stdout
    sid: str = json.loads(out.splitlines()[0])["sessionID"]
    return sid


_IDENTITY = ["-c", "user.name=kugetsu demo", "-c", "user.email=demo@kugetsu.invalid", "-c", "commit.gpgsign=false"]


def _demo_repo(path: Path) -> Path | None:
    """A one-commit checkout standing for github.com/acme/widgets; None without git."""
    from kugetsu_tui.base.git import GitError, run_git

    try:
        path.mkdir(mode=0o700)
        run_git(["init", "-q", "-b", "main", "."], path)
        write_bytes(path / "README.md", b"# widgets\nA demo repository: every dev session works in its own worktree.\n")
        run_git(["add", "README.md"], path)
        run_git([*_IDENTITY, "commit", "-q", "-m", "Initial commit"], path)
    except GitError:
        return None
    return path


def _demo_worktree(home: Home, repo: Path, number: int) -> dict[str, str]:
    """A worktree with one commit and one uncommitted change, as an agent leaves it; its session fields."""
    from kugetsu_tui.base.git import run_git

    path = home.root / "worktrees" / f"github.com-acme-widgets-{number}"
    branch = f"fix/issue-{number}"
    run_git(["worktree", "add", "-q", "-b", branch, str(path), "main"], repo)
    write_bytes(path / "widget.py", b"def widget():\n    return 42\n")
    run_git(["add", "widget.py"], path)
    run_git([*_IDENTITY, "commit", "-q", "-m", f"Fix #{number}"], path)
    write_bytes(path / "README.md", b"# widgets\nWork in progress.\n")
    base = run_git(["rev-parse", "main"], repo).stdout.decode().strip()
    return {
        "worktree_path": str(path),
        "branch_name": branch,
        "repo": str(repo),
        "cwd": str(path),
        "worktree_base": "main",
        "worktree_base_commit": base,
    }


def _demo_merged_branch(repo: Path, number: int) -> dict[str, str]:
    """A branch whose work was squash-merged into main, as a finished issue's is; its session fields."""
    from kugetsu_tui.base.git import run_git

    branch = f"fix/issue-{number}"
    run_git(["checkout", "-q", "-b", branch, "main"], repo)
    write_bytes(repo / "CHANGELOG.md", f"- the widget no longer flickers (#{number})\n".encode())
    run_git(["add", "CHANGELOG.md"], repo)
    run_git([*_IDENTITY, "commit", "-q", "-m", f"Stop the flicker (#{number})"], repo)
    run_git(["checkout", "-q", "main"], repo)
    run_git(["merge", "-q", "--squash", branch], repo)
    run_git([*_IDENTITY, "commit", "-q", "-m", f"Stop the flicker (#{number}) (squashed)"], repo)
    return {"branch_name": branch, "repo": str(repo)}


def create_demo_home(root: Path, *, live_agent: bool = True) -> Home:
    """Populate `root` as a demo kugetsu home and return it."""
    home = Home(root)
    home.ensure()
    store = root / "demo-opencode"
    repo = _demo_repo(root / "widgets")
    # The agents' directory is the demo's own, never the checkout the console happens to run in.
    agent: dict[str, object] = {**demo_templates(store), "cwd": str(repo or root)}
    write_bytes(
        home.config_toml,
        tomli_w.dumps(
            {
                "max_concurrent_agents": DEMO_LIMIT,
                "agent": agent,
                "repos": {"github.com/acme/widgets": str(repo)} if repo else {},
                # no network in the demo: work status from local git only
                "forge": {"github.com": {"api": ""}},
            }
        ).encode(),
    )
    base_id = _new_store_session(store, "base")
    pm_id = _new_store_session(store, "pm agent")
    now = datetime.now(UTC).astimezone()

    def stamp(hours_ago: float) -> str:
        return (now - timedelta(hours=hours_ago)).isoformat(timespec="seconds")

    write_json(
        home.session_path("base"),
        {"type": "base", "opencode_session_id": base_id, "created_at": stamp(72), "state": State.IDLE},
    )
    write_json(
        home.session_path("pm-agent"),
        {"type": "pm_agent", "opencode_session_id": pm_id, "created_at": stamp(71), "state": State.IDLE},
    )
    issues = {}
    dev_sessions: list[tuple[int, float, State, dict[str, object]]] = [
        (12, 30, State.IDLE, {"exit_code": 0}),
        (15, 5, State.FAILED, {"exit_code": 1, "error": "exit status 1"}),
    ]
    for number, hours, state, extra in dev_sessions:
        sid = _new_store_session(store, f"acme/widgets#{number}")
        ref = f"github.com/acme/widgets#{number}"
        name = f"github.com-acme-widgets-{number}"
        worktree: dict[str, str] = {}
        if repo and state == State.FAILED:
            worktree = _demo_worktree(home, repo, number)
        elif repo:
            worktree = _demo_merged_branch(repo, number)  # finished work: `D` cleans it up
        write_json(
            home.session_path(name),
            {
                "type": "forked",
                "issue_ref": ref,
                "opencode_session_id": sid,
                "created_at": stamp(hours),
                "state": state,
                **extra,
                **worktree,
            },
        )
        issues[ref] = f"{name}.json"
    # A file that kugetsu or a crash left broken: shown as corrupt, and it still holds a slot.
    write_bytes(home.session_path("github.com-acme-widgets-16"), b'{"type": "forked", "issue_ref": ')
    issues["github.com/acme/widgets#16"] = "github.com-acme-widgets-16.json"
    write_json(home.index_path, {"base": base_id, "pm_agent": pm_id, "issues": issues})
    if live_agent:
        from kugetsu_tui.lifecycle.start import start_session
        from kugetsu_tui.opencode.settings import load_agent_config

        config = load_agent_config(home)
        long_run = demo_templates(store, 600)  # in a worktree, a start runs the continue template
        busy = config._replace(
            templates={**config.templates, "start": long_run["start"], "continue": long_run["continue"]}
        )
        start_session(home, "acme/widgets#14", "Fix the flaky widget test", config=busy)
    return home


@contextlib.contextmanager
def temporary_demo_home(on_hangup: Callable[[], None]) -> Iterator[Home]:
    """A demo home in a fresh temporary directory, for as long as the console runs on it.

    A closed terminal or a kill (SIGHUP, SIGTERM) calls `on_hangup` (the console exits), and
    however it ends, the demo's agents are stopped and its directory removed. The user's own
    limit in the environment is ignored: the demo shows its own.
    """
    from kugetsu_tui.sessions.limit import LIMIT_ENV

    os.environ.pop(LIMIT_ENV, None)
    root = Path(tempfile.mkdtemp(prefix="kugetsu-demo-"))
    previous = {signum: signal.signal(signum, lambda *_: on_hangup()) for signum in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield create_demo_home(root / "home")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        stop_all_agents(Home(root / "home"))
        shutil.rmtree(root, ignore_errors=True)


def stop_all_agents(home: Home) -> None:
    from kugetsu_tui.lifecycle.archive import stop_agent
    from kugetsu_tui.sessions.files import list_sessions

    for session in list_sessions(home):
        stop_agent(session)
