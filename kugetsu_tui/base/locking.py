"""The one lock that serialises every change to the sessions directory.

An flock on `sessions/.lock` is released by the kernel when its holder dies, so a
starter killed mid-way can never leave the lock held.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from kugetsu_tui.base.home import FILE_MODE, Home


@contextmanager
def sessions_lock(home: Home) -> Iterator[None]:
    home.ensure(home.root, home.sessions_dir)
    fd = os.open(home.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
