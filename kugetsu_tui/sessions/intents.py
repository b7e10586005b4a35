"""Intent records as the listing reads them: which sessions have an operation that died mid-way.

lifecycle/journal.py writes them (`journal/<name>.json`, removed when the operation ends) and
lifecycle/recover.py finishes or rolls them back; this is the read-only side, so `ls` and the console
can say a session is interrupted instead of showing a state its dead process left. At rest there is
no journal/ directory, and reading it costs one failed listing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import is_alive

#: What a session is shown with while an interrupted operation waits for recovery.
INTERRUPTED = {
    "destroy": "its destroy was interrupted: `kugetsu-tui recover` (or destroy again) finishes or undoes it",
    "restore": "its restore was interrupted: `kugetsu-tui recover` (or restore or destroy) finishes or undoes it",
    "start": "its start was interrupted: `kugetsu-tui recover` (or a new start) removes it unless its agent launched",
}


def record_path(home: Home, name: str) -> Path:
    return home.journal_dir / f"{name}.json"


def read_record(home: Home, name: str) -> dict[str, Any] | None:
    """A session's intent record, if one is there (None if none or unreadable)."""
    try:
        data = json.loads(record_path(home, name).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def records(home: Home) -> dict[str, dict[str, Any]]:
    """Every intent record by session name (one listing: `ls` pays nothing while there are none)."""
    try:
        names = os.listdir(home.journal_dir)
    except OSError:
        return {}
    found = {}
    for file in names:
        if file.endswith(".json") and not file.startswith("."):
            record = read_record(home, file[:-5])
            if record is not None:
                found[file[:-5]] = record
    return found


def owner_alive(record: dict[str, Any]) -> bool:
    return is_alive(record.get("pid"), record.get("pid_started"))


def interrupted(home: Home) -> dict[str, str]:
    """Sessions whose operation's process is gone, each with what the operator can do about it."""
    return {
        name: INTERRUPTED.get(str(record.get("op")), "an operation on it was interrupted: run `kugetsu-tui recover`")
        for name, record in records(home).items()
        if not owner_alive(record)
    }
