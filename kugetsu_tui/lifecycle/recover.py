"""Finishing or rolling back what a killed destroy, restore or start left, from its journal record.

A destroy whose archive entry is in place is finished (the entry is complete: only destructive
steps are left), else rolled back; a restore whose session file is about to be put back is
finished, else rolled back (the entry is still whole in the archive); a start is rolled back
unless its agent launched. The caller holds the session's journal lock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any

from kugetsu_tui.base.atomic import fsync_dir, remove_stale_temps
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.lifecycle import archive, park
from kugetsu_tui.lifecycle.journal import Busy, acquire
from kugetsu_tui.lifecycle.start import roll_back_start
from kugetsu_tui.sessions.intents import operation_running, read_record, record_path, records, unusable_records
from kugetsu_tui.sessions.parked import parked_path


def plan(home: Home, record: dict[str, Any]) -> str:
    """What recovery will do with this record, in the words `recover --dry-run` and `ls` use."""
    op, name = record.get("op"), record.get("name")
    if op == "destroy":
        if (home.archive_dir / str(record.get("entry"))).is_dir():
            return f"finish destroying {name} (its archive entry {record.get('entry')} is complete)"
        return f"roll back the destroy of {name} (nothing was destroyed yet)"
    if op == "restore":
        if record.get("step") == "placing":
            return f"finish restoring {name}"
        return f"roll back the restore of {name} (its archive entry {record.get('entry')} stays)"
    if op == "start":
        return f"roll back the start of {name} unless its agent launched"
    if op in ("park", "resume"):
        where = "parked/" if os.path.lexists(parked_path(home, str(name))) else "sessions/"
        return f"finish the {op} of {name} (its file is whole, in {where})"
    return f"drop an unknown record ({op!r})"


def recover_record(home: Home, name: str) -> str:
    """Finish or roll back the interrupted operation on `name`; returns what was done."""
    record = read_record(home, name)
    if record is None:
        return "nothing to recover"
    done = plan(home, record)
    op = record.get("op")
    try:
        if op == "destroy":
            if (home.archive_dir / str(record.get("entry"))).is_dir():
                archive.finish_destroy(home, record)
        elif op == "restore":
            if record.get("step") == "placing":
                archive.finish_restore(home, record)
            else:
                archive.roll_back_restore(home, record)
        elif op == "start":
            left = roll_back_start(home, record)
            if left:
                raise KugetsuError(f"could not roll back the start of {name}: {'; '.join(left)}")
        elif op in ("park", "resume"):
            park.finish_interrupted(home, record)
    except (KeyError, TypeError, ValueError) as exc:  # a record written by hand, or by another version
        raise KugetsuError(f"the {op} record of {name} lacks what recovery needs ({exc}): left in place") from None
    clean_leftovers(home, name)
    os.unlink(record_path(home, name))
    fsync_dir(home.journal_dir)
    return done


def clean_leftovers(home: Home, name: str) -> None:
    """Staging and trash directories of this session's archive entries, and temp files, left by a kill."""
    try:
        children = os.listdir(home.archive_dir)
    except OSError:
        children = []
    for child in children:
        if child.startswith((f"{archive.STAGING}{name}--", f"{archive.TRASH}{name}--")):
            shutil.rmtree(home.archive_dir / child, ignore_errors=True)
    for directory in (home.root, home.sessions_dir, home.archive_dir, home.logs_dir):
        remove_stale_temps(directory)


def recover_all(home: Home, dry_run: bool = False, *, only_done: bool = False) -> list[str]:
    """Every interrupted operation, finished or rolled back (or, with dry_run, what would be done).

    `only_done`: say only what was recovered, not the operations in progress left alone (the console
    runs this every few seconds, beside its own destroys)."""
    lines = []
    found = records(home)
    try:
        locks = {f[: -len(".lock")] for f in os.listdir(home.journal_dir) if f.endswith(".lock")}
    except OSError:
        locks = set()
    for name in unusable_records(home):
        if not dry_run:
            with contextlib.suppress(OSError):
                os.unlink(record_path(home, name))  # a FIFO, a symlink or broken JSON: no operation to finish
        lines.append(f"{name}: {'would drop' if dry_run else 'dropped'} an unusable intent record")
    for name in sorted(set(found) | locks):
        record = found.get(name)
        if operation_running(home, name):
            if not only_done and record is not None:
                lines.append(f"{name}: {record.get('op')} in progress (pid {record.get('pid')}): left alone")
            continue
        if dry_run:
            if record is not None:
                lines.append(f"{name}: would {plan(home, record)}")
            continue
        try:
            journal = acquire(home, name, "recover", recover=False)
        except Busy as exc:
            if not only_done:
                lines.append(f"{name}: {exc}")
            continue
        try:
            if record is not None:
                lines.append(f"{name}: {recover_record(home, name)}")
            clean_leftovers(home, name)  # a lock file, staging or temp files of a process killed early
        except (KugetsuError, OSError) as exc:  # one that cannot be recovered now does not stop the others
            lines.append(f"{name}: could not recover: {exc}")
        finally:
            journal.release()
    return lines


def recover_interrupted(home: Home) -> None:
    """Before a start or restore looks at a session or counts the slots: an operation killed mid-way
    may hold the ref (a dead start's placeholder) or a slot, which recovery frees. One stat at rest."""
    if os.path.isdir(home.journal_dir):
        recover_all(home, only_done=True)
