"""The directory of each opencode session, learned once from `opencode export` and kept in our own file.

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
    if result.returncode != 0:
        return None
    try:
        directory = directory_from_export(result.stdout)
    except KugetsuError:
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


def directory_from_export(output: bytes) -> str:
    """`info.directory` of `opencode export`'s JSON; a clear error when the export does not say."""
    try:
        data = json.loads(output)
    except (ValueError, UnicodeDecodeError):
        raise KugetsuError("opencode export did not print JSON") from None
    info = data.get("info") if isinstance(data, dict) else None
    directory = info.get("directory") if isinstance(info, dict) else None
    if not isinstance(directory, str) or not os.path.isabs(directory):
        raise KugetsuError("opencode export does not name the session's directory (info.directory)")
    return directory
