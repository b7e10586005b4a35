"""A minimal, event-driven inotify watch of one directory (Linux), through libc via ctypes.

watchfiles' native watcher wakes every `step` milliseconds even when nothing happens (its Rust
loop sleeps in steps and checks for a stop flag): about 0.5 % of a core at the 15 ms step a
live console needs. This watch costs nothing while idle: its file descriptor sits in the event
loop and wakes it only when the kernel has events.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
from functools import cache

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x002, 0x004, 0x008
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x040, 0x080, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
IN_Q_OVERFLOW, IN_IGNORED = 0x4000, 0x8000
IN_ONLYDIR, IN_NONBLOCK, IN_CLOEXEC = 0x01000000, 0o4000, 0o2000000
WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len


class Events:
    """What one drain of the inotify queue found."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.overflow = False  # the kernel dropped events: re-read everything
        self.gone = False  # the directory itself was deleted or moved


@cache
def _libc() -> ctypes.CDLL:
    """Loaded once: find_library runs `ldconfig -p` (a process, and parsing its output) at each call, and a
    console waiting for a home's queue directory makes a watch every 5 s."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.inotify_init1.argtypes = [ctypes.c_int]
    libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    return libc


class DirectoryWatch:
    """inotify on one directory. Raises OSError (e.g. ENOSPC at the watch limit) if it cannot start."""

    def __init__(self, path: str) -> None:
        libc = _libc()
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"inotify_init1: {os.strerror(code)}")
        if libc.inotify_add_watch(fd, os.fsencode(path), WATCH_MASK) < 0:
            code = ctypes.get_errno()
            os.close(fd)
            raise OSError(code, f"inotify_add_watch {path}: {os.strerror(code)}")
        self.fd = fd

    def read(self) -> Events:
        """Drain what the kernel has queued (never blocks)."""
        events = Events(set())
        while True:
            try:
                buffer = os.read(self.fd, 65536)
            except BlockingIOError:
                return events
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise
            offset = 0
            while offset + _HEADER.size <= len(buffer):
                _wd, mask, _cookie, length = _HEADER.unpack_from(buffer, offset)
                offset += _HEADER.size
                name = buffer[offset : offset + length].rstrip(b"\0")
                offset += length
                if mask & IN_Q_OVERFLOW:
                    events.overflow = True
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                    events.gone = True
                if name:
                    events.names.add(os.fsdecode(name))

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
