"""A throwaway kugetsu home for trying the console with nothing else installed.

It holds a base and a PM session, dev sessions in every state (idle, running with a live
simulated agent, failed, corrupt) and config.toml templates that drive `demo_agent`, a
simulated opencode, so start, continue, destroy, undo and the cap all work for real.
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

from kugetsu_tui.atomic import write_bytes, write_json
from kugetsu_tui.home import Home
from kugetsu_tui.states import State

DEMO_LIMIT = 5
AGENT_SECONDS = 12


def demo_agent_argv(store: Path, seconds: float, fail: bool = False) -> list[str]:
    """The simulated agent's command prefix; `fail` makes every run fail, like a broken agent."""
    return [sys.executable, "-m", "kugetsu_tui.demo_agent", "--store", str(store), "--seconds", str(seconds),
            *(["--fail"] if fail else [])]


def demo_templates(store: Path, seconds: float = AGENT_SECONDS, fail: bool = False) -> dict[str, list[str]]:
    """[agent] templates that drive the simulated agent exactly as opencode's CLI is driven."""
    agent = demo_agent_argv(store, seconds, fail)
    return {
        "start": [*agent, "run", "--session", "{base_session_id}", "--fork", "--title", "{issue_ref}",
                  "--format", "json", "--", "{message}"],
        "continue": [*agent, "run", "--session", "{session_id}", "--format", "json", "--", "{message}"],
        "export": [*agent, "export", "{session_id}"],
        "delete": [*agent, "session", "delete", "{session_id}"],
        "import": [*agent, "import", "{export_file}"],
    }


def _new_store_session(store: Path, title: str) -> str:
    """Create a session in the simulated opencode store and return its id."""
    out = subprocess.run([*demo_agent_argv(store, 0), "run", "--title", title, "--format", "json", title],
                         capture_output=True, check=True).stdout
    sid: str = json.loads(out.splitlines()[0])["sessionID"]
    return sid


def create_demo_home(root: Path, *, live_agent: bool = True) -> Home:
    """Populate `root` as a demo kugetsu home and return it."""
    home = Home(root)
    home.ensure()
    store = root / "demo-opencode"
    write_bytes(home.config_toml, tomli_w.dumps({"max_concurrent_agents": DEMO_LIMIT,
                                                 "agent": demo_templates(store)}).encode())
    base_id = _new_store_session(store, "base")
    pm_id = _new_store_session(store, "pm agent")
    now = datetime.now(UTC).astimezone()

    def stamp(hours_ago: float) -> str:
        return (now - timedelta(hours=hours_ago)).isoformat(timespec="seconds")

    write_json(home.session_path("base"), {"type": "base", "opencode_session_id": base_id,
                                           "created_at": stamp(72), "state": State.IDLE})
    write_json(home.session_path("pm-agent"), {"type": "pm_agent", "opencode_session_id": pm_id,
                                               "created_at": stamp(71), "state": State.IDLE})
    issues = {}
    dev_sessions: list[tuple[int, float, State, dict[str, object]]] = [
        (12, 30, State.IDLE, {"exit_code": 0}),
        (15, 5, State.FAILED, {"exit_code": 1, "error": "agent exited with status 1"}),
    ]
    for number, hours, state, extra in dev_sessions:
        sid = _new_store_session(store, f"acme/widgets#{number}")
        ref = f"github.com/acme/widgets#{number}"
        name = f"github.com-acme-widgets-{number}"
        write_json(home.session_path(name), {"type": "forked", "issue_ref": ref, "opencode_session_id": sid,
                                             "created_at": stamp(hours), "state": state, **extra})
        issues[ref] = f"{name}.json"
    # A file that kugetsu or a crash left broken: shown as corrupt, and it still holds a slot.
    write_bytes(home.session_path("github.com-acme-widgets-16"), b'{"type": "forked", "issue_ref": ')
    issues["github.com/acme/widgets#16"] = "github.com-acme-widgets-16.json"
    write_json(home.index_path, {"base": base_id, "pm_agent": pm_id, "issues": issues})
    if live_agent:
        from kugetsu_tui.actions import start_session
        from kugetsu_tui.config import load_agent_config

        config = load_agent_config(home)
        busy = config._replace(templates=dict(config.templates, start=demo_templates(store, 600)["start"]))
        start_session(home, "acme/widgets#14", "Fix the flaky widget test", config=busy)
    return home


@contextlib.contextmanager
def temporary_demo_home(on_hangup: Callable[[], None]) -> Iterator[Home]:
    """A demo home in a fresh temporary directory, for as long as the console runs on it.

    A closed terminal or a kill (SIGHUP, SIGTERM) calls `on_hangup` (the console exits), and
    however it ends, the demo's agents are stopped and its directory removed. The user's own
    limit in the environment is ignored: the demo shows its own.
    """
    from kugetsu_tui.config import LIMIT_ENV

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
    from kugetsu_tui.archive import stop_agent
    from kugetsu_tui.sessions import list_sessions

    for session in list_sessions(home):
        stop_agent(session)
