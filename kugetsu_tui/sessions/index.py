"""kugetsu's index.json: `{"base": id, "pm_agent": id, "issues": {ref: file name}}`.

Callers hold the sessions lock. A broken index is set aside (never overwritten) and a
fresh one is rebuilt from the entries we add, so nothing the user had is lost.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from kugetsu_tui.base.atomic import write_json
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.files import KIND_BASE, KIND_PM, Session, kind_for_filename, read_session


def read_index(home: Home) -> dict[str, Any]:
    """The index, read with the guards of a session file (a regular file, at most 1 MiB, a non-blocking
    open): a FIFO would block start and destroy forever, a symlink to /dev/zero read until killed."""
    try:
        found = read_session(home.index_path)
    except FileNotFoundError:
        data: dict[str, Any] = {}
    else:
        if found.corrupt:
            _set_aside(home)
        data = dict(found.data)
    data.setdefault("base", None)
    data.setdefault("pm_agent", None)
    if not isinstance(data.get("issues"), dict):
        data["issues"] = {}
    return data


def _set_aside(home: Home) -> None:
    """Keep an unusable index under another name instead of writing over it."""
    os.replace(home.index_path, home.index_path.with_name(f"index.json.broken-{time.time_ns()}"))


def add_entry(home: Home, session: Session) -> None:
    """Record a session in the index the way kugetsu does for its kind."""
    index = read_index(home)
    if session.kind == KIND_BASE:
        index["base"] = session.opencode_session_id
    elif session.kind == KIND_PM:
        index["pm_agent"] = session.opencode_session_id
    elif session.issue_ref:
        index["issues"][session.issue_ref] = session.path.name
    else:
        return
    write_json(home.index_path, index)


def remove_entry(home: Home, session: Session) -> None:
    """Drop every index entry that points at this session's file."""
    remove_file(home, session.path.name)


def remove_file(home: Home, filename: str) -> None:
    """Drop every index entry that points at `filename` (which may be gone already: a destroy removes the
    file first, and one killed between the two is finished by recovery)."""
    if not os.path.lexists(home.index_path):
        return
    index = read_index(home)
    before = json.dumps(index, sort_keys=True)
    kind = kind_for_filename(filename)
    if kind == KIND_BASE:
        index["base"] = None
    elif kind == KIND_PM:
        index["pm_agent"] = None
    else:
        index["issues"] = {ref: f for ref, f in index["issues"].items() if f != filename}
    if json.dumps(index, sort_keys=True) != before:
        write_json(home.index_path, index)
