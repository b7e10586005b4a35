"""A stream of changes to the sessions directory, for the console (no Textual here).

Native inotify through watchfiles, with a short step so a change shows in tens of
milliseconds (watchfiles' default debounce is 1.6 s). If the native watcher cannot start
(inotify limits, odd file systems) it falls back to polling and says so. A missing or
deleted-and-recreated directory is waited for and re-attached; the consumer is then told to
rescan everything, since changes made meanwhile were not seen.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from kugetsu_tui.sessions import is_session_filename

STEP_MS = 15          # gather a burst of events for this long after the first one
DEBOUNCE_MS = 150     # but never hold a batch longer than this
CHECK_MS = 2000       # how often the native watcher wakes to check the directory still exists
POLL_MS = 250         # polling fallback period
MISSING_POLL_S = 0.25  # how often to look for a missing sessions directory


@dataclass(frozen=True)
class Batch:
    """Changed session file names, or `rescan` when the consumer must re-read everything."""

    names: frozenset[str]
    rescan: bool = False


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


async def session_batches(
    sessions_dir: Path,
    stop: asyncio.Event,
    on_mode: Callable[[str], None] = lambda mode: None,
    force_polling: bool = False,
) -> AsyncIterator[Batch]:
    """Yield batches until `stop` is set. `on_mode` hears 'inotify', 'polling (…)' or 'waiting for …'."""
    import anyio
    from watchfiles import awatch

    polling = force_polling
    anyio_stop = anyio.Event()

    async def relay_stop() -> None:
        await stop.wait()
        anyio_stop.set()

    relay = asyncio.ensure_future(relay_stop())
    try:
        while not stop.is_set():
            identity = _identity(sessions_dir)
            if identity is None:
                on_mode(f"waiting for {sessions_dir}")
                yield Batch(frozenset(), rescan=True)
                while _identity(sessions_dir) is None and not stop.is_set():
                    await asyncio.sleep(MISSING_POLL_S)
                continue
            on_mode("polling (native watcher unavailable)" if polling else "inotify")
            yield Batch(frozenset(), rescan=True)
            try:
                async for changes in awatch(
                    sessions_dir,
                    watch_filter=lambda _change, path: is_session_filename(os.path.basename(path)),
                    step=STEP_MS,
                    debounce=DEBOUNCE_MS,
                    rust_timeout=CHECK_MS,
                    yield_on_timeout=True,
                    stop_event=anyio_stop,
                    recursive=False,
                    force_polling=polling,
                    poll_delay_ms=POLL_MS,
                ):
                    if _identity(sessions_dir) != identity:
                        break  # deleted or replaced: re-attach and rescan
                    if changes:
                        yield Batch(frozenset(os.path.basename(path) for _, path in changes))
            except Exception:  # noqa: BLE001 - a native watcher that fails means: poll instead
                if _identity(sessions_dir) is None:
                    continue  # the directory vanished under us, not a watcher failure
                if polling:
                    raise
                polling = True
    finally:
        relay.cancel()
