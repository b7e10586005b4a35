"""The slot ledger: one JSON line per capacity event, for the capacity view, `stats` and `metrics`.

The session files are the truth about who holds a slot; the ledger is the record of how that came
to be over time (admissions, releases, refusals at the cap, the queue, limit and activity changes),
which no file keeps. Each line is written by the core under the sessions lock, with the count it
leaves (`active`) and the limit, in one `os.write` of fewer than PIPE_BUF bytes on an O_APPEND
descriptor, so lines from racing processes never interleave. It is rotated by size (one `.1` kept),
never read on the path of a start or `ls`, and a failure to write it never fails the operation.
"""

from __future__ import annotations

import json
import os
import time
from enum import StrEnum
from typing import Any

from kugetsu_tui.base.home import FILE_MODE, Home
from kugetsu_tui.sessions.files import count_active
from kugetsu_tui.sessions.limit import resolve_limit

#: Rotated past this size: the live file and one `.1` keep at least this much history.
MAX_BYTES = 4 * 1024 * 1024
#: One write of at most this many bytes to an O_APPEND file is never interleaved with another's.
MAX_LINE = 4096
LEDGER_FILE = "ledger.jsonl"
_TEXT_LIMIT = 512  # any one text field, so that a line always fits in MAX_LINE


class Event(StrEnum):
    """The kinds of line; each names what changed (`active` is the count after it)."""

    ADMITTED = "admitted"  # a dev session took a slot (start, restore)
    RELEASED = "released"  # a dev session's file left sessions/ (destroy, a rolled-back start or restore)
    REFUSED_AT_CAPACITY = "refused_at_capacity"  # a start or restore was refused: every slot taken
    QUEUED = "queued"  # an item waits in the queue (added, or back after a failed start)
    DEQUEUED = "dequeued"  # an item left the queue: claimed for a start (`waited_s`), removed, refused
    PARKED = "parked"  # a dev session's slot was freed without destroying it
    RESUMED = "resumed"  # a parked session took a slot again
    LIMIT_CHANGED = "limit_changed"  # max_concurrent_agents was written
    ACTIVITY_CHANGED = "activity_changed"  # a slot holder's activity (`activity`) changed


def ledger_path(home: Home) -> str:
    return os.path.join(home.root, LEDGER_FILE)


def record(home: Home, event: Event, session: str | None, *, active: int, limit: int | None, **fields: Any) -> None:
    """Append one line; every error is swallowed (a record, not the truth: the operation goes on)."""
    try:
        line = encode_line(event, session, active, limit, fields, time.time())
        _append(ledger_path(home), line)
    except (OSError, ValueError, TypeError):
        pass


def record_counted(home: Home, event: Event, session: str | None, **fields: Any) -> None:
    """`record`, counting the slots and reading the limit now. The caller holds the sessions lock."""
    try:
        active, limit = count_active(home), resolve_limit(home).value
    except OSError:
        return
    record(home, event, session, active=active, limit=limit, **fields)


def record_parked(home: Home, session: str) -> None:
    """For park: its session file has just left sessions/ (call under the sessions lock)."""
    record_counted(home, Event.PARKED, session)


def record_resumed(home: Home, session: str) -> None:
    """For resume: its session file is back in sessions/ (call under the sessions lock)."""
    record_counted(home, Event.RESUMED, session)


def encode_line(
    event: Event, session: str | None, active: int, limit: int | None, fields: dict[str, Any], now: float
) -> bytes:
    """One line of at most MAX_LINE bytes: long text is cut, never the line."""
    data: dict[str, Any] = {"t": round(now, 3), "event": str(event), "session": _cut(session)}
    data.update({key: _cut(value) for key, value in fields.items()})
    data.update(active=active, limit=limit)
    line = (json.dumps(data, separators=(",", ":")) + "\n").encode("ascii")
    if len(line) > MAX_LINE:
        raise ValueError("ledger line too long")
    return line


def _cut(value: Any) -> Any:
    return value[:_TEXT_LIMIT] if isinstance(value, str) else value


def _append(path: str, line: bytes) -> None:
    fd = _open(path)
    try:
        if os.fstat(fd).st_size + len(line) > MAX_BYTES:
            os.close(fd)
            fd = -1
            os.replace(path, path + ".1")
            fd = _open(path)
        os.write(fd, line)
    finally:
        if fd >= 0:
            os.close(fd)


def _open(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)


def read_events(home: Home) -> list[dict[str, Any]]:
    """Every line of the ledger, oldest first (the rotated `.1` before the live file); a line that is not
    an event (a torn tail after a full disk, a hand edit) is skipped. For the figures, never for a start."""
    events: list[dict[str, Any]] = []
    path = ledger_path(home)
    for name in (path + ".1", path):
        try:
            with open(name, "rb") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for raw in lines:
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("t"), int | float) and isinstance(data.get("event"), str):
                events.append(data)
    return events
