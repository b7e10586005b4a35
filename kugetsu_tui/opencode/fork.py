"""Forking the base session into a worktree the only way that works with opencode's CLI.

With opencode-ai 1.18.33, `opencode run --session BASE --fork` run from a worktree creates the fork
in BASE's directory and then never exits (it waits for events of its own directory). So a session
that must live in a worktree is made by hand: export BASE, give the copy a new session id, new
message and part ids (`opencode import` skips rows whose ids exist, which would leave the copy
empty) and the worktree as its directory, import it from the worktree, then
`opencode run --session NEW` there with PWD set to the worktree.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from kugetsu_tui.base.atomic import write_bytes
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.opencode.events import last_words
from kugetsu_tui.opencode.settings import AgentConfig, render
from kugetsu_tui.opencode.steps import run_step

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_RANDOM_LENGTH = 14
_MASK_48 = (1 << 48) - 1
_counter = [0, 0]  # last millisecond, count within it: ids made in one millisecond still sort


def new_id(prefix: str, *, descending: bool = False, now_ms: int | None = None) -> str:
    """An id in opencode's form: prefix, 12 hex digits of (ms * 0x1000 + counter), 14 base62 characters.

    Sessions use the descending form (the 48 bits inverted, so newer sessions sort first);
    messages and parts the ascending one (they must sort in the order they were made).
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if _counter[0] != now:
        _counter[:] = [now, 0]
    _counter[1] += 1
    value = (now * 0x1000 + _counter[1]) & _MASK_48
    if descending:
        value = ~value & _MASK_48
    randomness = "".join(_BASE62[byte % 62] for byte in os.urandom(_RANDOM_LENGTH))
    return f"{prefix}_{value:012x}{randomness}"


def new_session_id() -> str:
    return new_id("ses", descending=True)


def relocated(export: bytes, session_id: str, directory: str, title: str | None = None) -> dict[str, Any]:
    """The export of a session, made into a new session `session_id` that lives in `directory`."""
    try:
        data: dict[str, Any] = json.loads(export)
        info = data["info"]
        messages = data.get("messages") or []
        if not isinstance(info, dict) or not isinstance(messages, list):
            raise TypeError("info or messages")
    except (ValueError, KeyError, TypeError) as exc:
        raise KugetsuError(f"the base session's export is not an opencode export ({exc})") from None
    old_directory = info.get("directory")
    info.update(id=session_id, directory=directory)
    for key in ("parentID", "share", "revert"):
        info.pop(key, None)
    if title:
        info["title"] = title
    if isinstance(info.get("path"), str):
        info["path"] = directory
    elif isinstance(info.get("path"), dict):
        info["path"] = {k: directory if v == old_directory else v for k, v in info["path"].items()}
    message_ids: dict[str, str] = {}
    for message in messages:
        message_info = message.get("info") if isinstance(message, dict) else None
        if isinstance(message_info, dict) and isinstance(message_info.get("id"), str):
            message_ids[message_info["id"]] = new_id("msg")
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("info"), dict):
            continue
        message_info = message["info"]
        message_info.update(id=message_ids.get(message_info.get("id"), message_info.get("id")), sessionID=session_id)
        if message_info.get("parentID") in message_ids:
            message_info["parentID"] = message_ids[message_info["parentID"]]
        for part in message.get("parts") or []:
            if isinstance(part, dict):
                part.update(id=new_id("prt"), sessionID=session_id, messageID=message_info["id"])
    return data


def fork_into(
    base_id: str, directory: str, title: str, config: AgentConfig, scratch: Path, export_cwd: str, session_id: str
) -> str:
    """Make a copy `session_id` (from `new_session_id`, recorded first so a crash can delete it) of
    `base_id` that lives in `directory`, through the export and import templates.

    Returns the new session id. `scratch` is where the rewritten export is written (then removed).
    """
    for step in ("export", "import"):
        if not config.template(step):
            raise KugetsuError(
                f"a worktree session is made by export and import, but [agent] {step} is turned off in config.toml"
            )
    exported = run_step(
        "export",
        render(config.template("export"), {"session_id": base_id, "name": "base", "issue_ref": ""}),
        export_cwd,
    )
    if exported.returncode != 0 or not exported.stdout.strip():
        raise KugetsuError(
            f"export of the base session {base_id} failed: {last_words(exported.stderr + exported.stdout)}"
        )
    write_bytes(scratch, json.dumps(relocated(exported.stdout, session_id, directory, title)).encode("utf-8"))
    try:
        imported = run_step(
            "import",
            render(
                config.template("import"),
                {"export_file": str(scratch), "session_id": session_id, "name": title, "issue_ref": title},
            ),
            directory,
        )
    finally:
        scratch.unlink(missing_ok=True)
    if imported.returncode != 0:
        raise KugetsuError(
            f"import of the new session into {directory} failed: {last_words(imported.stderr + imported.stdout)}"
        )
    return session_id
