"""The sessions-directory watcher: inotify batches, re-attachment, and the polling fallback."""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
from pathlib import Path

import pytest

from kugetsu_tui.base import inotify
from kugetsu_tui.sessions import watch
from kugetsu_tui.sessions.watch import Batch, session_batches


class Recorder:
    """Runs session_batches in the background and collects what it yields."""

    def __init__(self, directory: Path, **kwargs) -> None:
        self.stop = asyncio.Event()
        self.batches: list[Batch] = []
        self.modes: list[str] = []
        self.task = asyncio.ensure_future(self._run(directory, kwargs))

    async def _run(self, directory: Path, kwargs: dict) -> None:
        async for batch in session_batches(directory, self.stop, self.modes.append, **kwargs):
            self.batches.append(batch)

    async def until(self, predicate, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            assert loop.time() < deadline, f"not reached; batches={self.batches} modes={self.modes}"
            await asyncio.sleep(0.01)

    def names(self) -> set[str]:
        return {n for b in self.batches for n in b.names}

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)


async def test_changes_arrive_as_batches_of_session_names(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    await rec.until(lambda: rec.batches and rec.batches[0].rescan)
    assert rec.modes[-1] == "inotify"
    (tmp_path / "github.com-a-b-1.json").write_text("{}")
    await rec.until(lambda: "github.com-a-b-1.json" in rec.names())
    (tmp_path / ".github.com-a-b-2.json.123.tmp").write_text("{}")  # an atomic write's temp file
    os.replace(tmp_path / ".github.com-a-b-2.json.123.tmp", tmp_path / "github.com-a-b-2.json")
    (tmp_path / "github.com-a-b-1.json").unlink()
    await rec.until(lambda: "github.com-a-b-2.json" in rec.names())
    assert all(not n.startswith(".") for n in rec.names())  # temp files never reach the consumer
    await rec.close()


async def test_a_deleted_and_recreated_directory_is_reattached(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    rec = Recorder(sessions)
    await rec.until(lambda: rec.modes and rec.modes[-1].startswith("waiting for"))
    sessions.mkdir()
    await rec.until(lambda: rec.modes[-1] == "inotify")
    shutil.rmtree(sessions)
    await rec.until(lambda: rec.modes[-1].startswith("waiting for"))
    sessions.mkdir()
    await rec.until(lambda: rec.modes[-1] == "inotify")
    rescans = sum(1 for b in rec.batches if b.rescan)
    (sessions / "x.json").write_text("{}")
    await rec.until(lambda: "x.json" in rec.names())
    assert rescans >= 4  # one per waiting spell and one per attachment
    await rec.close()


async def test_a_missing_directory_is_waited_for_without_polling(tmp_path: Path, monkeypatch) -> None:
    """A home without a queue yet: the wait sleeps on inotify of the nearest ancestor, no wake-ups."""
    items = tmp_path / "queue" / "items"  # two levels missing
    looks = []
    real_identity = watch._identity

    def counted(path: Path):
        looks.append(path)
        return real_identity(path)

    monkeypatch.setattr(watch, "_identity", counted)
    rec = Recorder(items)
    await rec.until(lambda: rec.modes and rec.modes[-1].startswith("waiting for"))
    before = len(looks)
    await asyncio.sleep(1.0)
    assert len(looks) - before <= 1  # polling looked four times a second
    items.mkdir(parents=True)
    await rec.until(lambda: rec.modes[-1] == "inotify", timeout=2)  # woken by the creation, not by a timer
    (items / "q_1.json").write_text("{}")
    await rec.until(lambda: "q_1.json" in rec.names())
    await rec.close()


async def test_falls_back_to_polling_when_inotify_cannot_start(tmp_path: Path, monkeypatch) -> None:
    def refuse(path: str):
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watch, "DirectoryWatch", refuse)
    rec = Recorder(tmp_path)
    await rec.until(lambda: rec.modes and rec.modes[-1].startswith("polling"))
    await asyncio.sleep(0.3)
    (tmp_path / "late.json").write_text("{}")
    await rec.until(lambda: "late.json" in rec.names(), timeout=10)
    await rec.close()


async def test_polling_sees_a_change_made_while_the_watcher_starts(tmp_path: Path, monkeypatch) -> None:
    """The consumer reads everything on the first rescan, before watchfiles takes its first snapshot:
    a file written in that gap must still reach it (the polling fallback's CI flake)."""

    def refuse(path: str):
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watch, "DirectoryWatch", refuse)
    stop = asyncio.Event()
    batches = session_batches(tmp_path, stop)
    first = await batches.__anext__()
    assert first.rescan
    (tmp_path / "github.com-a-b-7.json").write_text("{}")  # written after the consumer's full read
    later = await asyncio.wait_for(batches.__anext__(), timeout=watch.POLL_TIMEOUT_MS / 1000 + 3)
    assert later.rescan or "github.com-a-b-7.json" in later.names
    stop.set()
    await batches.aclose()


async def test_stop_ends_the_stream_promptly(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    await rec.until(lambda: rec.batches)
    rec.stop.set()
    await asyncio.wait_for(rec.task, 1.0)


def _event(mask: int, name: bytes = b"") -> bytes:
    padded = name.ljust((len(name) // 16 + 1) * 16, b"\0") if name else b""  # NUL-padded like the kernel
    return struct.pack("iIII", 1, mask, 0, len(padded)) + padded


@pytest.mark.parametrize(
    ("raw", "names", "overflow", "gone"),
    [
        (
            _event(inotify.IN_CREATE, b"a.json") + _event(inotify.IN_DELETE, b"b.json"),
            {"a.json", "b.json"},
            False,
            False,
        ),
        (_event(inotify.IN_Q_OVERFLOW), set(), True, False),
        (_event(inotify.IN_DELETE_SELF) + _event(inotify.IN_IGNORED), set(), False, True),
        (_event(inotify.IN_MOVED_TO, "é.json".encode()), {"é.json"}, False, False),
    ],
)
def test_kernel_events_are_parsed(raw: bytes, names: set[str], overflow: bool, gone: bool) -> None:
    reader, writer = os.pipe()
    os.set_blocking(reader, False)
    os.write(writer, raw)
    watcher = inotify.DirectoryWatch.__new__(inotify.DirectoryWatch)
    watcher.fd = reader
    try:
        events = watcher.read()
    finally:
        os.close(reader)
        os.close(writer)
    assert (events.names, events.overflow, events.gone) == (names, overflow, gone)


def test_a_missing_directory_cannot_be_watched(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        inotify.DirectoryWatch(str(tmp_path / "nope"))


async def test_gathering_a_burst_does_not_spin_the_loop(tmp_path: Path, monkeypatch) -> None:
    """While a burst is gathered the descriptor is readable; the loop must not be woken for it again and again."""
    monkeypatch.setattr(watch, "BURST_S", 0.2)
    loop = asyncio.get_running_loop()
    wakeups = []
    add_reader = loop.add_reader

    def counting_add_reader(fd, callback, *args):
        def counted(*inner):
            wakeups.append(fd)
            callback(*inner)

        return add_reader(fd, counted, *args)

    monkeypatch.setattr(loop, "add_reader", counting_add_reader)
    rec = Recorder(tmp_path)
    await rec.until(lambda: rec.batches and rec.batches[0].rescan)
    (tmp_path / "github.com-a-b-1.json").write_text("{}")
    await rec.until(lambda: "github.com-a-b-1.json" in rec.names())
    await rec.close()
    assert len(wakeups) <= 3, len(wakeups)  # one per wait; thousands when it spins


def test_libc_is_looked_up_once_however_many_watches_are_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """find_library runs `ldconfig -p`: a console waiting for its queue directory makes a watch every 5 s."""
    import ctypes.util

    lookups: list[str] = []
    real = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        lookups.append(name)
        return real(name)

    monkeypatch.setattr(ctypes.util, "find_library", find_library)
    inotify._libc.cache_clear()
    for _ in range(3):
        inotify.DirectoryWatch(str(tmp_path)).close()
    assert lookups == ["c"]
