"""Where a session runs: the one answer for its agent commands, its server queries and its import.

A session's agent commands run in the directory it was started in (`run_directory`). opencode
itself knows a session's directory too: learned once from `opencode export` and kept in our own file.

opencode files every session under the directory it was created in, and `opencode run --session X`
run anywhere else sends the message, prints nothing and never exits. So before an agent is launched
for a session, its directory must be known; `opencode export` says it (`info.directory`), but costs
a few seconds, so the answer is cached in `session-dirs.json` under the home (never in kugetsu's own
session files). An export that names no directory (an agent program other than opencode, such as the
demo agent) or that fails is not checked and not remembered (the launch itself then reports what is
wrong, e.g. "Session not found").
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from kugetsu_tui.base.atomic import write_json
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.settings import AgentConfig, render

CACHE_NAME = "session-dirs.json"
EXPORT_TIMEOUT = 30.0


def _cache_path(home: Home) -> Any:
    return home.root / CACHE_NAME


def _read_cache(home: Home) -> dict[str, str]:
    try:
        data = json.loads(_cache_path(home).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and os.path.isabs(v)}


def cached_directory(home: Home, session_id: str) -> str | None:
    return _read_cache(home).get(session_id)


def learn_directory(home: Home, session_id: str, cwd: str, config: AgentConfig, values: dict[str, str]) -> str | None:
    """The session's directory: from the cache, else from one `opencode export` (then cached); None: unknown."""
    known = cached_directory(home, session_id)
    if known is not None:
        return known
    template = config.template("export")
    if not template:
        return None
    from kugetsu_tui.opencode.steps import run_step

    try:
        result = run_step("export", render(template, {**values, "session_id": session_id}), cwd, EXPORT_TIMEOUT)
    except KugetsuError:
        return None
    directory = export_directory(result.stdout) if result.returncode == 0 else None
    if directory is None:
        return None
    remember_directory(home, session_id, directory)
    return directory


def require_session_directory(
    home: Home, session_id: str, cwd: str, config: AgentConfig, what: str, values: dict[str, str]
) -> None:
    """Refuse to launch an agent for `session_id` anywhere but its opencode session's directory."""
    known = learn_directory(home, session_id, cwd, config, values)
    if known is None or os.path.realpath(known) == os.path.realpath(cwd):
        return
    raise KugetsuError(
        f"Cannot {what}: opencode session {session_id} belongs to the directory {known}, but the "
        f"agent would run in {cwd}, where opencode waits forever without a word: run kugetsu-tui "
        f'from {known}, or set [agent] cwd = "{known}" in config.toml'
    )


def remember_directory(home: Home, session_id: str, directory: str) -> None:
    """Keep one answer (no lock: it may be called under the sessions lock; a lost race only costs an export)."""
    cache = _read_cache(home)
    if cache.get(session_id) == directory:
        return
    cache[session_id] = directory
    home.ensure(home.root)
    write_json(_cache_path(home), cache)


def export_directory(export: bytes) -> str | None:
    """The one reader of an export's directory: `info.directory`, when it is an absolute path."""
    try:
        directory = json.loads(export)["info"]["directory"]
    except (ValueError, KeyError, TypeError):
        return None
    return directory if isinstance(directory, str) and os.path.isabs(directory) else None


def _recorded_directory(data: Mapping[str, Any]) -> str | None:
    recorded = data.get("cwd")
    return recorded if isinstance(recorded, str) and os.path.isabs(recorded) else None


def run_directory(data: Mapping[str, Any], config: AgentConfig) -> str:
    """Where a session's agent commands run: the directory it was started in, when still there.

    opencode files sessions by directory and will not continue one from elsewhere, so a session
    keeps the directory it was started in, whatever directory the console runs in; a new session
    (no fields yet) runs where `[agent] cwd` says, or here.
    """
    recorded = _recorded_directory(data)
    if recorded is not None and os.path.isdir(recorded):
        return recorded
    return config.cwd or os.getcwd()


def server_directory(home: Home, data: Mapping[str, Any], config: AgentConfig) -> str:
    """The directory to ask opencode's server about a session: its opencode session's (learned once),
    else the one it was started in (even if gone: the server still files it there), else as a new one."""
    sid = data.get("opencode_session_id")
    known = cached_directory(home, sid) if isinstance(sid, str) and sid else None
    return known or _recorded_directory(data) or config.cwd or os.getcwd()
