"""Agent processes: finding them safely, stopping their whole tree, measuring them.

A pid alone can be reused by an unrelated process, so we also record the process's
start time and only trust a pid whose start time still matches.
"""

from __future__ import annotations

import psutil

TERMINATE_GRACE = 3.0


def start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def live_process(pid: int | None, created: float | None = None) -> psutil.Process | None:
    """The process if it still runs (and, when `created` is known, is the same process)."""
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        if created is not None and abs(proc.create_time() - created) > 0.05:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except psutil.Error:
        return None


def terminate_tree(roots: list[psutil.Process], grace: float = TERMINATE_GRACE) -> None:
    """SIGTERM the roots and all their descendants, wait, then SIGKILL what is left."""
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
    """CPU % and resident memory of agent process trees, keeping psutil handles between samples.

    cpu_percent needs two readings of the same Process object, so the handles are cached.
    """

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def sample(self, pids: dict[str, tuple[int, float | None]]) -> dict[str, tuple[float, int]]:
        """`{name: (pid, start time)}` -> `{name: (cpu percent, rss bytes)}` for the live ones."""
        seen: set[int] = set()
        result: dict[str, tuple[float, int]] = {}
        for name, (pid, created) in pids.items():
            root = live_process(pid, created)
            if root is None:
                continue
            cpu, rss = 0.0, 0
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = [root]
            for proc in tree:
                handle = self._procs.setdefault(proc.pid, proc)
                seen.add(proc.pid)
                try:
                    with handle.oneshot():
                        cpu += handle.cpu_percent(None)
                        rss += handle.memory_info().rss
                except psutil.Error:
                    continue
            result[name] = (cpu, rss)
        for pid in set(self._procs) - seen:
            del self._procs[pid]
        return result
