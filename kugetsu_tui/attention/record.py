"""Which transition of each session was notified, shared by every process on the home: one notification each.

`attention/notified.json` under the home maps a session's name to the activity it was last notified
for. A process that sees a session enter a notifiable activity *claims* it under the record's lock:
only the first claim of a transition wins, so two consoles (or a console restarted) notify once.
When a process sees the session leave that activity it *releases* it, so the next time the session
enters it is a new transition. Kugetsu's own files are never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kugetsu_tui.base.atomic import encode_json, write_bytes
from kugetsu_tui.base.home import FILE_MODE, Home

DIRECTORY = "attention"
RECORD = "notified.json"
LOCK = ".lock"


def record_path(home: Home) -> Path:
    return home.root / DIRECTORY / RECORD


@contextmanager
def _locked(home: Home) -> Iterator[dict[str, Any]]:
    """The record under its flock (released by the kernel if the holder dies); written back on exit."""
    directory = home.root / DIRECTORY
    home.ensure(home.root, directory)
    fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        record = read_record(home)
        before = dict(record)
        yield record
        if record != before:
            write_bytes(record_path(home), encode_json(record, indent=1))
    finally:
        os.close(fd)


def read_record(home: Home) -> dict[str, Any]:
    """The record as it is (no lock): an unreadable one is empty, so at worst a transition notifies twice."""
    try:
        data = json.loads(record_path(home).read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def claim(home: Home, name: str, activity: str) -> bool:
    """True for the one process that claims this session's entry into `activity`; False if it was claimed."""
    with _locked(home) as record:
        entry = record.get(name)
        if isinstance(entry, dict) and entry.get("activity") == activity:
            return False
        record[name] = {"activity": activity, "at": time.time(), "pid": os.getpid()}
        for gone in [n for n in record if n != name and not os.path.lexists(home.session_path(n))]:
            del record[gone]  # destroyed sessions: the record stays small
        return True


def release(home: Home, name: str, activity: str) -> None:
    """The session is in `activity` now: a claim of another activity is over (its next entry notifies again)."""
    entry = read_record(home).get(name)
    if not isinstance(entry, dict) or entry.get("activity") == activity:
        return  # nothing to release: no lock taken, no write
    with _locked(home) as record:
        current = record.get(name)
        if isinstance(current, dict) and current.get("activity") != activity:
            del record[name]
