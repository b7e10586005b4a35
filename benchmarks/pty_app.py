"""Run a program in a real pseudo-terminal and time when text appears on its screen."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
import time


class PtyApp:
    """A child process on a pty; a thread drains its output and notes when each chunk arrived."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int] = (120, 40)) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.arrivals: list[tuple[int, float]] = []  # (end offset, time)
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.changed:
                self.output += chunk
                self.arrivals.append((len(self.output), time.monotonic()))
                self.changed.notify_all()

    @property
    def offset(self) -> int:
        with self.changed:
            return len(self.output)

    def wait_for(self, marker: bytes, since: int = 0, timeout: float = 30.0) -> float:
        """The time the first chunk containing `marker` (after offset `since`) arrived."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = self.output.find(marker, since)
                if found >= 0:
                    end = found + len(marker)
                    return next(t for offset, t in self.arrivals if offset >= end)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    tail = bytes(self.output[-400:])
                    raise TimeoutError(f"{marker!r} not seen; exit={self.proc.poll()} tail={tail!r}")
                self.changed.wait(remaining)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass
