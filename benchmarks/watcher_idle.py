"""Idle cost of watching the sessions directory: our ctypes inotify (`kugetsu_tui.sessions.watch`) vs asyncinotify.

    python -m benchmarks.watcher_idle [SECONDS]    # needs asyncinotify importable (it is not a dependency)

Each watcher runs alone in a child process on its own asyncio loop; the CPU time it uses over the window
is read from outside, once with nothing changing and once with a change a second (events are counted).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


async def ours(directory: Path) -> None:
    from kugetsu_tui.sessions.watch import session_batches

    stop = asyncio.Event()
    async for batch in session_batches(directory, stop):
        print(len(batch.names), flush=True)


async def theirs(directory: Path) -> None:
    asyncinotify = importlib.import_module("asyncinotify")  # not a dependency: imported by name
    Inotify, Mask = asyncinotify.Inotify, asyncinotify.Mask

    with Inotify() as inotify:
        inotify.add_watch(
            directory,
            Mask.CREATE
            | Mask.MODIFY
            | Mask.CLOSE_WRITE
            | Mask.MOVED_TO
            | Mask.DELETE
            | Mask.MOVED_FROM
            | Mask.ATTRIB
            | Mask.DELETE_SELF
            | Mask.MOVE_SELF,
        )
        print("ready", flush=True)
        async for event in inotify:
            print(event.name, flush=True)


def measure(which: str, seconds: float, change_every: float | None) -> dict[str, object]:
    directory = Path(tempfile.mkdtemp(prefix="watcher-idle-"))
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.watcher_idle", "--child", which, str(directory)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])),
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # the first batch (ours) or "ready" (theirs): the watch is in place
        time.sleep(1)
        proc = psutil.Process(child.pid)
        before, started = proc.cpu_times(), time.monotonic()
        changes = 0
        while time.monotonic() - started < seconds:
            if change_every is None:
                time.sleep(seconds)
                break
            (directory / f"s{changes}.json").write_text("{}")
            changes += 1
            time.sleep(change_every)
        after, elapsed = proc.cpu_times(), time.monotonic() - started
    finally:
        child.kill()
        child.wait()
    used = (after.user - before.user) + (after.system - before.system)
    return {
        "watcher": which,
        "seconds": round(elapsed, 1),
        "changes": changes,
        "cpu_percent_of_one_core": round(100 * used / elapsed, 3),
    }


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        asyncio.run((ours if sys.argv[2] == "ours" else theirs)(Path(sys.argv[3])))
        return 0
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    results = [measure(which, seconds, every) for every in (None, 1.0) for which in ("ours", "asyncinotify")]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
