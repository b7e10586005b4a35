"""Intent records: what a destroy, restore or start in progress has done, so a kill loses nothing.

Each operation on a session holds an flock on `journal/<name>.lock` for its whole life (the kernel
drops it when the process dies, so two destroys of one session never run at once, and a dead one
never blocks) and keeps `journal/<name>.json`: the operation, its process (pid and start time),
the step reached and what it made. The record is written atomically and fsync'd before each step's
effect, and removed at the end. A record found by the next holder of the lock belongs to a process
that died mid-way: `recover.recover_record` finishes or rolls back that operation first.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from typing import Any

from kugetsu_tui.base.atomic import fsync_dir, remove_stale_temps, write_json
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.faults import fault_point
from kugetsu_tui.base.home import FILE_MODE, Home
from kugetsu_tui.base.process import start_time
from kugetsu_tui.sessions.intents import read_record, record_path

#: What an operation in progress is called in a refusal.
DOING = {
    "destroy": "destroyed",
    "restore": "restored",
    "start": "started",
    "continue": "continued",
    "park": "parked",
    "resume": "resumed",
}


class Busy(KugetsuError):
    """Another process is destroying, restoring, starting or continuing this session right now."""


class Journal:
    """The lock and the record of one operation on one session, held by this process."""

    def __init__(self, home: Home, name: str, op: str, fd: int) -> None:
        self.home, self.name, self.op, self._fd = home, name, op, fd
        self.record: dict[str, Any] = {}
        #: The record of a dead process's operation that taking this lock recovered, if any. Read under
        #: the lock: a record read before it may be a live operation's that ended meanwhile.
        self.recovered: dict[str, Any] | None = None

    @property
    def path(self) -> Any:
        return record_path(self.home, self.name)

    def write(self, step: str, **fields: Any) -> None:
        """Record the step about to be taken (and what it will make), durably, before taking it."""
        if not self.record:
            pid = os.getpid()
            self.record = {"op": self.op, "name": self.name, "pid": pid, "pid_started": start_time(pid)}
        self.record.update(fields, step=step)
        write_json(self.path, self.record)

    def finish(self) -> None:
        """The operation is over (done or rolled back): drop the record, then the lock."""
        try:
            if self.record:
                os.unlink(self.path)
                self.record = {}
                fsync_dir(self.path.parent)
                fault_point(f"journal of {self.name} removed")
        finally:
            self.release()

    def release(self) -> None:
        """Drop the lock but keep the record: what this process could not finish, recovery will."""
        if self._fd < 0:
            return
        try:
            os.unlink(self.home.journal_dir / f"{self.name}.lock")  # while locked: no one else holds it
            os.rmdir(self.home.journal_dir)  # only if no record or other lock is left
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._fd = -1


def _lock(home: Home, name: str) -> int | None:
    """The locked descriptor of `journal/<name>.lock`, or None if another process holds it.

    The holder removes the file when it is done (a home at rest keeps no journal), so a lock taken on
    a file that was removed meanwhile is retried on the file now at that path.
    """
    path = home.journal_dir / f"{name}.lock"
    while True:
        home.ensure(home.root, home.journal_dir)
        remove_stale_temps(home.journal_dir)  # a record being written when its writer was killed
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except FileNotFoundError:
            continue  # the directory was removed by a holder that just finished
        if not _flock_soon(fd):
            os.close(fd)
            return None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _flock_soon(fd: int, tries: int = 20, pause: float = 0.005) -> bool:
    """The lock, if it is free or freed within ~0.1 s: `ls` probing whether an operation runs
    (sessions/intents.py) holds it for an instant, and must not make a destroy refuse."""
    for attempt in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            if attempt + 1 < tries:
                time.sleep(pause)
    return False


def acquire(home: Home, name: str, op: str, *, recover: bool = True) -> Journal:
    """Take the session's operation lock, or refuse with one line if another process holds it.

    A record left by a process that died is recovered first (`recover=False`: left for the caller).
    """
    fd = _lock(home, name)
    if fd is None:
        other = read_record(home, name) or {}
        doing = DOING.get(str(other.get("op")), "changed")
        pid = f" (pid {other['pid']})" if isinstance(other.get("pid"), int) else ""
        raise Busy(f"{name} is being {doing} by another process{pid}: try again once it is done")
    journal = Journal(home, name, op, fd)
    if recover:
        from kugetsu_tui.lifecycle.recover import clean_leftovers, recover_record

        try:
            pending = read_record(home, name)
            if pending is not None:
                recover_record(home, name)
                journal.recovered = pending
            clean_leftovers(home, name)
        except BaseException:
            journal.release()
            raise
    return journal
