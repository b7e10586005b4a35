"""A throwaway kugetsu home for trying the console with nothing else installed.

It holds a base and a PM session, dev sessions in every state (idle, running with a live
simulated agent, failed, corrupt) and config.toml templates that drive `demo_agent`, a
simulated opencode, so start, continue, destroy, undo and the cap all work for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import tomli_w

from kugetsu_tui.atomic import write_bytes, write_json
from kugetsu_tui.home import Home

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
    return json.loads(out.splitlines()[0])["sessionID"]


def create_demo_home(root: Path, *, live_agent: bool = True) -> Home:
    """Populate `root` as a demo kugetsu home and return it."""
    home = Home(root)
    home.ensure()
    store = root / "demo-opencode"
    write_bytes(home.config_toml, tomli_w.dumps({"max_concurrent_agents": DEMO_LIMIT,
                                                 "agent": demo_templates(store)}).encode())
    base_id = _new_store_session(store, "base")
    pm_id = _new_store_session(store, "pm agent")
    now = datetime.now(timezone.utc).astimezone()

    def stamp(hours_ago: float) -> str:
        return (now - timedelta(hours=hours_ago)).isoformat(timespec="seconds")

    write_json(home.session_path("base"), {"type": "base", "opencode_session_id": base_id,
                                           "created_at": stamp(72), "state": "idle"})
    write_json(home.session_path("pm-agent"), {"type": "pm_agent", "opencode_session_id": pm_id,
                                               "created_at": stamp(71), "state": "idle"})
    issues = {}
    for number, hours, state, extra in [
        (12, 30, "idle", {"exit_code": 0}),
        (15, 5, "failed", {"exit_code": 1, "error": "agent exited with status 1"}),
    ]:
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
