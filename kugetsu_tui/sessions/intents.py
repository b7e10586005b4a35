"""Intent records as the listing reads them: which sessions have an operation that died mid-way.

lifecycle/journal.py writes them (`journal/<name>.json`, removed when the operation ends) and
lifecycle/recover.py finishes or rolls them back; this is the read-only side, so `ls` and the console
can say a session is interrupted instead of showing a state its dead process left. At rest there is
no journal/ directory, and reading it costs one failed listing.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.files import read_session

#: What a session is shown with while an interrupted operation waits for recovery (head first: a table
#: cell shows what comes before the first `: `).
INTERRUPTED = {
    "destroy": "destroy interrupted: `kugetsu-tui recover` (or destroy again) finishes or undoes it",
    "restore": "restore interrupted: `kugetsu-tui recover` (or restore or destroy) finishes or undoes it",
    "start": "start interrupted: `kugetsu-tui recover` (or a new start) removes it unless its agent launched",
    "park": "park interrupted: `kugetsu-tui recover` (or park or resume) finishes it; its file is whole",
    "resume": "resume interrupted: `kugetsu-tui recover` (or park or resume) finishes it; its file is whole",
}


def record_path(home: Home, name: str) -> Path:
    return home.journal_dir / f"{name}.json"


def read_record(home: Home, name: str) -> dict[str, Any] | None:
    """A session's intent record, read with a session file's guards (a regular file, at most 1 MiB, a
    non-blocking open: a FIFO or a symlink to /dev/zero under journal/ must not hang `ls`); None if
    there is none, or it is no record (an object naming a known operation)."""
    try:
        found = read_session(record_path(home, name))
    except (FileNotFoundError, NotADirectoryError):
        return None
    if found.corrupt or found.data.get("op") not in INTERRUPTED:
        return None
    return found.data


def unusable_records(home: Home) -> list[str]:
    """Names of files under journal/ that look like records but are none (broken JSON, a FIFO, …)."""
    try:
        names = os.listdir(home.journal_dir)
    except OSError:
        return []
    return [
        f[:-5] for f in names if f.endswith(".json") and not f.startswith(".") and read_record(home, f[:-5]) is None
    ]


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


def operation_running(home: Home, name: str) -> bool:
    """Whether a live operation holds the session's lock. The lock, not the record's pid, says it: the
    kernel drops the lock when its holder dies, and a process that goes on (the console) after one of its
    operations failed holds it no longer. The probe takes the lock for an instant; `acquire` retries."""
    try:
        fd = os.open(home.journal_dir / f"{name}.lock", os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False  # no lock file: nobody holds it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # drops the probe's lock too
    return False


def interrupted(home: Home) -> dict[str, str]:
    """Sessions whose operation stopped mid-way, each with what the operator can do about it."""
    return {
        name: INTERRUPTED[str(record["op"])]
        for name, record in records(home).items()
        if not operation_running(home, name)
    }
