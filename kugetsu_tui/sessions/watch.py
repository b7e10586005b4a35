"""A stream of changes to the sessions directory, for the console (no Textual here).

Native: an inotify watch whose descriptor sits in the asyncio loop (`inotify.DirectoryWatch`),
so an idle console does no work at all and a change is seen within milliseconds; a burst of
events is gathered for a few milliseconds into one batch. If inotify cannot start (watch
limits, odd file systems) this falls back to watchfiles' polling watcher and says so. A
missing or deleted-and-recreated directory is waited for and re-attached.

Each attachment yields a `rescan` batch only once the watch is in place, so no change can
slip between the consumer's full read and the first event.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import NamedTuple

from kugetsu_tui.base.inotify import DirectoryWatch
from kugetsu_tui.sessions.files import is_session_filename

BURST_S = 0.004  # after the first event, gather the rest of a burst for this long
POLL_MS = 250  # polling fallback period
POLL_STEP_MS = 50  # polling fallback: watchfiles' wake-up step
POLL_TIMEOUT_MS = 2000  # polling fallback: look at the directory's identity at least this often
MISSING_POLL_S = 0.25  # how often to look for a missing directory where inotify cannot tell
MISSING_RECHECK_S = 5.0  # a missing directory is looked for at least this often, inotify or not
MODE_NATIVE = "inotify"
MODE_POLLING = "polling (native watcher unavailable)"
WAITING = "waiting for"


class Batch(NamedTuple):
    """Changed session file names, or `rescan` when the consumer must re-read everything."""

    names: frozenset[str]
    rescan: bool = False


def _identity(path: Path) -> tuple[int, int] | None:
    """The directory's device and inode; None while it is missing or not a directory."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None


def waiting_mode(sessions_dir: Path) -> str:
    """The mode announced while there is no sessions directory to watch, saying why."""
    reason = "not a directory" if os.path.lexists(sessions_dir) else "missing"
    return f"{WAITING} {sessions_dir} ({reason})"


def is_waiting(mode: str) -> bool:
    return mode.startswith(WAITING)


def _sessions_only(names: set[str] | frozenset[str]) -> frozenset[str]:
    return frozenset(n for n in names if is_session_filename(n))


async def session_batches(
    sessions_dir: Path,
    stop: asyncio.Event,
    on_mode: Callable[[str], None] = lambda mode: None,
    force_polling: bool = False,
) -> AsyncGenerator[Batch, None]:
    """Yield batches until `stop` is set. `on_mode` hears 'inotify', 'polling (…)' or 'waiting for …'."""
    polling = force_polling
    while not stop.is_set():
        identity = _identity(sessions_dir)
        if identity is None:
            on_mode(waiting_mode(sessions_dir))
            yield Batch(frozenset(), rescan=True)
            await _until_present(sessions_dir, stop, polling)
            continue
        if not polling:
            try:
                watch = DirectoryWatch(str(sessions_dir))
            except OSError:
                if _identity(sessions_dir) is None:
                    continue  # the directory vanished under us, not a watcher failure
                polling = True
                continue
            try:
                on_mode(MODE_NATIVE)
                yield Batch(frozenset(), rescan=True)
                async for batch in _native(watch, sessions_dir, identity, stop):
                    yield batch
            finally:
                watch.close()
        else:
            on_mode(MODE_POLLING)
            async for batch in _polling(sessions_dir, identity, stop):
                yield batch


def _nearest_existing(path: Path) -> Path:
    """The closest ancestor of `path` that is a directory (the root at worst)."""
    for ancestor in path.parents:
        if ancestor.is_dir():
            return ancestor
    return Path(path.anchor or "/")


async def _readable_or_stop(fd: int, stop: asyncio.Event, timeout: float | None = None) -> None:
    """Sleep until `fd` is readable, `stop` is set or `timeout` passes: no wake-ups in between. The
    descriptor is in the loop only while this waits."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)
    waits = [asyncio.ensure_future(readable.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        loop.remove_reader(fd)
        for waiting in waits:
            waiting.cancel()


async def _until_present(directory: Path, stop: asyncio.Event, polling: bool) -> None:
    """Wait for a missing directory (a home without a queue yet, a sessions directory being replaced).

    inotify on its nearest existing ancestor wakes us when something there changes, so an idle
    console does no work while it waits; where inotify cannot start, the directory is polled.
    """
    while _identity(directory) is None and not stop.is_set():
        watch = None if polling else _watch_or_none(_nearest_existing(directory))
        if watch is None:
            try:
                await asyncio.wait_for(stop.wait(), MISSING_POLL_S)
            except TimeoutError:
                pass
            continue
        try:
            if _identity(directory) is None:  # it may have appeared before the watch was in place
                await _readable_or_stop(watch.fd, stop, MISSING_RECHECK_S)
                watch.read()
        finally:
            watch.close()


def _watch_or_none(directory: Path) -> DirectoryWatch | None:
    try:
        return DirectoryWatch(str(directory))
    except OSError:
        return None


async def _native(
    watch: DirectoryWatch, sessions_dir: Path, identity: tuple[int, int], stop: asyncio.Event
) -> AsyncIterator[Batch]:
    """Batches from inotify until the directory goes away (then return to re-attach) or `stop`."""
    while not stop.is_set():
        # The descriptor stays readable until it is drained: left in the loop, it would wake the loop
        # without end while the burst is gathered (about 4 ms of a core spinning per change), so the
        # wait takes it out of the loop as soon as it is readable.
        await _readable_or_stop(watch.fd, stop)
        if stop.is_set():
            return
        await asyncio.sleep(BURST_S)
        events = watch.read()
        if events.gone or _identity(sessions_dir) != identity:
            return
        if events.overflow:
            yield Batch(frozenset(), rescan=True)
            continue
        names = _sessions_only(events.names)
        if names:
            yield Batch(names)


async def _polling(sessions_dir: Path, identity: tuple[int, int], stop: asyncio.Event) -> AsyncIterator[Batch]:
    """watchfiles' polling watcher (its public `awatch`), for when inotify is unavailable.

    Its first answer (a change or an empty timeout, within POLL_TIMEOUT_MS) brings a second rescan,
    so nothing changed while the watcher was starting is missed.
    """
    from watchfiles import awatch

    yield Batch(frozenset(), rescan=True)
    directory = str(sessions_dir)
    changes_stream = awatch(
        directory,
        watch_filter=None,
        step=POLL_STEP_MS,
        stop_event=stop,
        rust_timeout=POLL_TIMEOUT_MS,
        yield_on_timeout=True,
        force_polling=True,
        poll_delay_ms=POLL_MS,
        recursive=False,
        ignore_permission_denied=True,
    )
    settled = False
    async for changes in changes_stream:
        if _identity(sessions_dir) != identity:
            return  # gone or replaced: the caller re-attaches
        names = _sessions_only({os.path.basename(p) for _, p in changes if os.path.dirname(p) == directory})
        if not settled:
            # watchfiles takes its first snapshot only once iterated, after the rescan above was read:
            # a change in between would be lost, so read everything again once the watcher has answered.
            settled = True
            yield Batch(names, rescan=True)
        elif names:
            yield Batch(names)
