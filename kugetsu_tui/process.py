"""Agent processes: telling whether they still run, stopping their whole tree, measuring them.

A pid alone can be reused by an unrelated process, so we also record the process's start
time and only trust a pid whose start time still matches. Liveness is read straight from
/proc (the same figures psutil uses) so that `ls` and `start` need not import psutil;
psutil is loaded only to stop process trees and to sample CPU and memory.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

TERMINATE_GRACE = 3.0
START_TIME_TOLERANCE = 0.05
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
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


def _stat(pid: int) -> tuple[str, float] | None:
    """(state letter, start time in epoch seconds) of a process, or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19]) / _CLOCK_TICKS + _boot()


def start_time(pid: int) -> float | None:
    stat = _stat(pid)
    return stat[1] if stat else None


def pid_running(pid: int | None) -> bool:
    """True if `pid` runs (not a zombie). Only for a process this program just started itself."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1:
        return False
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def is_alive(pid: object, started: object) -> bool:
    """True if a pid read from a session file is still the process that was recorded there.

    Session files are untrusted and pids are reused: without a recorded start time that
    matches, the pid is not ours, whatever runs under it now, and is never signalled.
    """
    if not isinstance(pid, int) or not pid_running(pid):
        return False
    if isinstance(started, bool) or not isinstance(started, (int, float)):
        return False
    stat = _stat(pid)
    return stat is not None and abs(stat[1] - started) <= START_TIME_TOLERANCE


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
    """CPU % and resident memory of agent process trees.

    cpu_percent compares two readings of the same Process object, so the objects are kept
    between samples. Finding children means scanning all of /proc, so the process tree is
    re-read only every few samples, or at once when a root appears that it does not know.
    """

    TREE_EVERY = 5

    def __init__(self) -> None:
        self._samples = 0
        self._procs: dict[int, psutil.Process] = {}
        self._children: dict[int, list[int]] = {}

    def _read_tree(self) -> None:
        import psutil

        self._procs, self._children = {}, {}
        for proc in psutil.process_iter(["ppid"]):
            self._procs[proc.pid] = proc
            self._children.setdefault(proc.info["ppid"], []).append(proc.pid)

    def sample(self, roots: dict[str, tuple[int, float | None]]) -> dict[str, tuple[float, int]]:
        """`{name: (pid, start time)}` -> `{name: (cpu percent, rss bytes)}` for the live ones."""
        import psutil

        live = {name: pid for name, (pid, created) in roots.items() if is_alive(pid, created)}
        if self._samples % self.TREE_EVERY == 0 or any(pid not in self._procs for pid in live.values()):
            self._read_tree()
        self._samples += 1
        result: dict[str, tuple[float, int]] = {}
        for name, pid in live.items():
            cpu, rss, pending = 0.0, 0, [pid]
            while pending:
                current = pending.pop()
                pending.extend(self._children.get(current, ()))
                proc = self._procs.get(current)
                if proc is None:
                    continue
                try:
                    with proc.oneshot():
                        cpu += proc.cpu_percent(None)
                        rss += proc.memory_info().rss
                except psutil.Error:
                    continue
            result[name] = (cpu, rss)
        return result
