"""The JSON events `opencode run --format json` prints, one per line.

Each is `{"type": "step_start" | "text" | "tool_use" | "step_finish" | "error", "sessionID", "part"}`.
The supervisor reads the session id from them, the console shows them as words, and a failed
command is summed up by its last error event: all three read the events here, and only here.
"""

from __future__ import annotations

import json
from typing import Any

from kugetsu_tui.base.text import printable


def parse_event(line: bytes | str) -> dict[str, Any] | None:
    """One event line as a dict, or None when the line is not a JSON object."""
    try:
        event = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return event if isinstance(event, dict) else None


def session_id(event: dict[str, Any]) -> str | None:
    """The event's `sessionID` (or its part's): the id of the session the agent works in."""
    sid = event.get("sessionID")
    if not isinstance(sid, str):
        part = event.get("part")
        sid = part.get("sessionID") if isinstance(part, dict) else None
    return sid if isinstance(sid, str) and sid else None


def session_id_from_line(line: bytes) -> str | None:
    event = parse_event(line)
    return None if event is None else session_id(event)


def error_message(event: dict[str, Any]) -> str:
    """What an `error` event says: `error.data.message`, else the error's name, else the error itself."""
    error = event.get("error")
    if isinstance(error, dict):
        data = error.get("data")
        message = data.get("message") if isinstance(data, dict) else None
        return str(message or error.get("name") or error)
    return str(error)


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def log_line_words(line: str) -> str:
    """One line of an agent log as a person reads it; lines that are not events are shown as they are."""
    event = parse_event(line)
    if event is None or not isinstance(event.get("type"), str):
        return printable(line)
    kind = event["type"]
    part = _as_dict(event.get("part"))
    if kind == "text" and isinstance(part.get("text"), str):
        return printable(part["text"].replace("\n", " ⏎ "))
    if kind == "tool_use":
        state = _as_dict(part.get("state"))
        return printable(f"[tool] {part.get('tool', '?')} {state.get('status', '')}".rstrip())
    if kind == "error":
        return printable(f"[error] {error_message(event)}")
    if kind == "server" and isinstance(event.get("text"), str):
        return printable(f"[server] {event['text']}")  # a run through opencode's server (opencode/server_run.py)
    if kind in ("step_start", "step_finish"):
        reason = part.get("reason")
        return printable(f"[{kind.replace('_', ' ')}{f': {reason}' if reason else ''}]")
    return printable(line)


def last_words(output: bytes | str, limit: int = 300) -> str:
    """The most telling line of a failed command's output, for a one-line error message.

    opencode reports errors either as `{"type": "error"}` events or as plain text on stderr.
    """
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        event = parse_event(line)
        if event is not None and event.get("type") == "error":
            return error_message(event)[:limit]
    plain = [line for line in lines if not line.startswith("{")]
    chosen = next((line for line in reversed(plain) if "error" in line.lower()), plain[-1] if plain else "")
    return chosen[:limit] or "no output"


#: opencode's words in a tool_use event whose permission ask was answered "reject" (opencode run does that
#: itself for every ask, unless run with --auto).
_REJECTED = "rejected permission"
#: A cheap filter for log lines that may hold a refused permission (only those are parsed).
DENIAL_MARK = _REJECTED.encode()
#: The permission each file tool asks for (opencode files write, edit and patch under "edit").
_TOOL_PERMISSION = {"write": "edit", "edit": "edit", "multiedit": "edit", "patch": "edit", "apply_patch": "edit"}
_TARGET_KEYS = ("filePath", "path", "command", "pattern", "url")


def denied_permission(event: dict[str, Any]) -> str | None:
    """`edit denied: note.txt` for a tool call refused its permission, else None."""
    if event.get("type") != "tool_use":
        return None
    part = _as_dict(event.get("part"))
    state = _as_dict(part.get("state"))
    error = state.get("error")
    if state.get("status") != "error" or not isinstance(error, str) or _REJECTED not in error:
        return None
    tool = str(part.get("tool") or "tool")
    tool_input = _as_dict(state.get("input"))
    target = next((str(tool_input[k]) for k in _TARGET_KEYS if isinstance(tool_input.get(k), str)), "")
    return printable(f"{_TOOL_PERMISSION.get(tool, tool)} denied{f': {target}' if target else ''}")
