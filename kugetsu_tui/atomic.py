"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Temp files start with '.' and end in '.tmp' so they are never mistaken for a session
(`*.json`) by our count, by kugetsu's, or by the watcher.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from kugetsu_tui.home import FILE_MODE


def write_bytes(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write to a temp file beside `path`, fsync it, rename it over `path`, fsync the directory."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
