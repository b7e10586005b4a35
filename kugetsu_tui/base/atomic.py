"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Temp files start with '.' and end in '.tmp' so they are never mistaken for a session
(`*.json`) by our count, by kugetsu's, or by the watcher.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kugetsu_tui.base.home import FILE_MODE


def write_bytes(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write to a temp file beside `path`, fsync it, rename it over `path`, fsync the directory."""
    # Not tempfile.mkstemp: importing tempfile costs the CLI several milliseconds.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json(path: Path, data: Any) -> None:
    write_bytes(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
