"""Agent processes: telling whether they still run, stopping their whole tree, measuring them.

A pid alone can be reused by an unrelated process, so we also record the process's start
time and only trust a pid whose start time still matches. Liveness is read straight from
/proc (the same figures psutil uses) so that `ls` and `start` need not import psutil,
and so are CPU and memory (see `ProcessSampler`); psutil is loaded only to stop process trees.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

TERMINATE_GRACE = 3.0
START_TIME_TOLERANCE = 0.05
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_boot_time: float | None = None


def _boot() -> float:
    global _boot_time
    if _boot_time is None:
        with open("/proc/stat", "rb") as handle:
            for line in handle:
                if line.startswith(b"btime"):
                    _boot_time = float(line.split()[1])
                    break
            else:
                _boot_time = 0.0
    return _boot_time


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].split()


def start_time(pid: int) -> float | None:
    fields = _stat_fields(pid)
    return _started_at(fields) if fields else None


def _running_fields(pid: object) -> list[bytes] | None:
    """`_stat_fields` of a plausible process id that runs (not a zombie), else None."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1:
        return None
    fields = _stat_fields(pid)
    return fields if fields is not None and fields[0] not in (b"Z", b"X") else None


def _started_at(fields: list[bytes]) -> float:
    """Start time in epoch seconds, from `_stat_fields`."""
    return int(fields[19]) / _CLOCK_TICKS + _boot()


def pid_running(pid: int | None) -> bool:
    """True if `pid` runs (not a zombie). Only for a process this program just started itself."""
    return _running_fields(pid) is not None


def _recorded_fields(pid: object, started: object) -> list[bytes] | None:
    """`_stat_fields` of the process a session file recorded, if it still runs (see `is_alive`)."""
    if isinstance(started, bool) or not isinstance(started, (int, float)):
        return None
    fields = _running_fields(pid)
    return fields if fields is not None and abs(_started_at(fields) - started) <= START_TIME_TOLERANCE else None


def is_alive(pid: object, started: object) -> bool:
    """True if a pid read from a session file is still the process that was recorded there.

    Session files are untrusted and pids are reused: without a recorded start time that
    matches, the pid is not ours, whatever runs under it now, and is never signalled.
    """
    return _recorded_fields(pid, started) is not None


def live_process(pid: object, started: object) -> psutil.Process | None:
    """A psutil handle on the process if it is alive and the same one (see `is_alive`)."""
    import psutil

    if not is_alive(pid, started):
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def terminate_tree(roots: list[psutil.Process], grace: float = TERMINATE_GRACE) -> None:
    """SIGTERM the roots and all their descendants, wait, then SIGKILL what is left."""
    import psutil

    procs: dict[int, psutil.Process] = {}
    for root in roots:
        try:
            for proc in [root, *root.children(recursive=True)]:
                procs[proc.pid] = proc
        except psutil.Error:
            continue
    for proc in procs.values():
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(list(procs.values()), timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)


class ProcessSampler:
    """CPU % and resident memory of agent process trees, read straight from /proc.

    One read of /proc/PID/stat per process gives its CPU time, start time and resident pages, and
    the tree comes from the kernel's lists of children (/proc/PID/task/TID/children), so a sample
    never scans every process on the machine: psutil did, at ~3 ms a second for 20 agents, ten
    times this. Where the kernel has no children lists, one pass over /proc per sample stands in.
    CPU % is the CPU time a process used since it was last sampled, over the time between.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: agent -> {(pid, start ticks): (CPU seconds, when)} at its last sample: a reused pid starts afresh
        self._last: dict[str, dict[tuple[int, int], tuple[float, float]]] = {}
        self._children_lists = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")

    def sample(
        self, watched: dict[str, tuple[int, float | None]], due: set[str] | None = None
    ) -> dict[str, tuple[float, int]]:
        """`{name: (pid, start time)}` -> `{name: (cpu percent, rss bytes)}` for the live ones among
        those `due` (all when None); what is remembered of agents no longer watched is dropped."""
        self._last = {name: last for name, last in self._last.items() if name in watched}
        now = self._clock()
        children = _children_from_children_lists if self._children_lists else _children_by_scan()
        result: dict[str, tuple[float, int]] = {}
        for name, (pid, created) in watched.items():
            if due is not None and name not in due:
                continue
            root_fields = _recorded_fields(pid, created)
            if root_fields is None:
                self._last.pop(name, None)
                continue
            busy, rss, previous, seen = 0.0, 0, self._last.get(name, {}), {}
            for member in _tree(pid, children):
                fields = root_fields if member == pid else _stat_fields(member)
                if fields is None:
                    continue  # ended between the listing and the read
                key = (member, int(fields[19]))
                cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # user + system time
                if key in previous and now > previous[key][1]:
                    busy += 100 * (cpu - previous[key][0]) / (now - previous[key][1])
                seen[key] = (cpu, now)
                rss += int(fields[21]) * _PAGE_SIZE
            self._last[name] = seen
            result[name] = (busy, rss)
        return result


def _tree(root: int, children: Callable[[int], list[int]]) -> list[int]:
    """`root` and all its descendants."""
    members, pending, seen = [], [root], {root}
    while pending:
        current = pending.pop()
        members.append(current)
        for child in children(current):
            if child not in seen:
                seen.add(child)
                pending.append(child)
    return members


def _children_from_children_lists(pid: int) -> list[int]:
    """Children of every thread of `pid`, from the kernel's own lists (CONFIG_PROC_CHILDREN)."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children", "rb") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def _children_by_scan() -> Callable[[int], list[int]]:
    """Children looked up in one pass over /proc: for kernels without children lists."""
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) is not None:
            by_parent.setdefault(int(fields[1]), []).append(int(entry))
    return lambda pid: by_parent.get(pid, [])
