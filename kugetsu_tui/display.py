"""Plain-text formatting shared by the CLI and the console.

Text from session files is untrusted: control characters (terminal escape sequences among
them) are shown as visible escapes, never sent to the terminal.
"""

from __future__ import annotations

import json
import time

_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


def printable(value: object) -> str:
    if value is None:
        return ""
    return str(value).translate(_CONTROL)


def age(seconds: float | None, *, coarse: bool = False) -> str:
    """A compact age: 42s, 5m, 3h, 2d. `coarse` says <1m instead of counting seconds.

    The console uses coarse ages: a cell that changes every second would redraw the
    table every second for nothing.
    """
    if seconds is None or seconds < 0:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "<1m" if coarse else f"{int(seconds)}s"


def since(timestamp: float | None, now: float | None = None) -> str:
    if not timestamp:
        return ""
    return age((now or time.time()) - timestamp)


def megabytes(rss: int | None) -> str:
    return "" if rss is None else f"{rss / (1024 * 1024):.0f} MB"


def agent_log_line(line: str) -> str:
    """One line of an agent log as a person reads it.

    `opencode run --format json` writes one JSON event per line; the words are inside
    (`part.text`). Other lines (stderr, our own notes) are shown as they are.
    """
    try:
        event = json.loads(line)
    except ValueError:
        return printable(line)
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return printable(line)
    kind = event["type"]
    part = event.get("part") if isinstance(event.get("part"), dict) else {}
    if kind == "text" and isinstance(part.get("text"), str):
        return printable(part["text"].replace("\n", " ⏎ "))
    if kind == "tool_use":
        state = part.get("state") if isinstance(part.get("state"), dict) else {}
        return printable(f"[tool] {part.get('tool', '?')} {state.get('status', '')}".rstrip())
    if kind == "error":
        error = event.get("error")
        data = error.get("data") if isinstance(error, dict) else None
        message = data.get("message") if isinstance(data, dict) else None
        return printable(f"[error] {message or error}")
    if kind in ("step_start", "step_finish"):
        reason = part.get("reason")
        return printable(f"[{kind.replace('_', ' ')}{f': {reason}' if reason else ''}]")
    return printable(line)
