"""A stream of changes to the sessions directory, for the console (no Textual here).

Native inotify through watchfiles' Rust watcher, with a short step so a change shows in tens
of milliseconds (watchfiles' default debounce is 1.6 s). If the native watcher cannot start
(inotify limits, odd file systems) it falls back to polling and says so. A missing or
deleted-and-recreated directory is waited for and re-attached.

Each attachment yields a `rescan` batch only once the watch is in place, so no change can slip
between the consumer's full read and the first event. (That ordering is why this uses
watchfiles' documented RustNotify backend rather than `awatch`, which starts watching only
when first iterated.)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from watchfiles._rust_notify import RustNotify

from kugetsu_tui.sessions import is_session_filename

STEP_MS = 15           # gather a burst of events for this long after the first one
DEBOUNCE_MS = 150      # but never hold a batch longer than this
CHECK_MS = 2000        # how often the watcher wakes to check the directory is still the same
POLL_MS = 250          # polling fallback period
MISSING_POLL_S = 0.25  # how often to look for a missing sessions directory


@dataclass(frozen=True)
class Batch:
    """Changed session file names, or `rescan` when the consumer must re-read everything."""

    names: frozenset[str]
    rescan: bool = False


class _Halt:
    """The stop flag RustNotify polls from its thread: the caller's stop, or our own cancellation."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.cancelled = False

    def is_set(self) -> bool:
        return self.cancelled or self.stop.is_set()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def open_watcher(sessions_dir: Path, polling: bool) -> RustNotify:
    """A non-recursive watch of the directory: log files elsewhere in the home never wake us."""
    return RustNotify([str(sessions_dir)], False, polling, POLL_MS, False, True)


async def session_batches(
    sessions_dir: Path,
    stop: asyncio.Event,
    on_mode: Callable[[str], None] = lambda mode: None,
    force_polling: bool = False,
) -> AsyncIterator[Batch]:
    """Yield batches until `stop` is set. `on_mode` hears 'inotify', 'polling (…)' or 'waiting for …'."""
    polling = force_polling
    halt = _Halt(stop)
    directory = str(sessions_dir)
    try:
        while not halt.is_set():
            identity = _identity(sessions_dir)
            if identity is None:
                on_mode(f"waiting for {sessions_dir}")
                yield Batch(frozenset(), rescan=True)
                while _identity(sessions_dir) is None and not halt.is_set():
                    await asyncio.sleep(MISSING_POLL_S)
                continue
            try:
                watcher = open_watcher(sessions_dir, polling)
            except Exception:  # noqa: BLE001 - a native watcher that cannot start means: poll instead
                if _identity(sessions_dir) is None:
                    continue  # the directory vanished under us, not a watcher failure
                if polling:
                    raise
                polling = True
                continue
            with watcher:
                on_mode("polling (native watcher unavailable)" if polling else "inotify")
                yield Batch(frozenset(), rescan=True)
                while not halt.is_set():
                    raw = await asyncio.to_thread(watcher.watch, DEBOUNCE_MS, STEP_MS, CHECK_MS, halt)
                    if raw == "stop":
                        return
                    if _identity(sessions_dir) != identity:
                        break  # deleted or replaced: re-attach and rescan
                    if isinstance(raw, str):
                        continue  # timeout
                    names = frozenset(
                        os.path.basename(path) for _, path in raw
                        if os.path.dirname(path) == directory and is_session_filename(os.path.basename(path))
                    )
                    if names:
                        yield Batch(names)
    finally:
        halt.cancelled = True
