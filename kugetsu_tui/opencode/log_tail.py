"""Following an agent log: the complete lines added since the last read, from a bounded tail."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import NamedTuple

TAIL_BYTES = 64 * 1024


class NewLines(NamedTuple):
    """Lines added since the last read; `restarted` when the log was truncated or replaced."""

    lines: list[str]
    restarted: bool
    exists: bool


class LogTail:
    """Reads a growing log from a worker thread; one read at a time, the rest are skipped."""

    def __init__(self, path: Path, tail_bytes: int = TAIL_BYTES) -> None:
        self.path = path
        self.tail_bytes = tail_bytes
        self._offset = 0
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Read the tail again from its start at the next read."""
        with self._lock:
            self._offset = 0

    def read(self) -> NewLines | None:
        """New complete lines; None when another read is under way."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._read()
        finally:
            self._lock.release()

    def _read(self) -> NewLines:
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return NewLines([], False, False)
        restarted = size < self._offset
        if restarted:
            self._offset = 0
        if size == self._offset:
            return NewLines([], restarted, True)
        start = self._offset or max(0, size - self.tail_bytes)
        try:
            with open(self.path, "rb") as handle:
                handle.seek(start)
                chunk = handle.read(size - start)
        except OSError:
            return NewLines([], restarted, False)
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            return NewLines([], restarted, True)  # wait until the line is complete
        self._offset = start + cut
        return NewLines(chunk[:cut].decode("utf-8", "replace").splitlines(), restarted, True)
