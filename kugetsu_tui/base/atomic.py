"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Temp files start with '.' and end in '.tmp' so they are never mistaken for a session
(`*.json`) by our count, by kugetsu's, or by the watcher.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kugetsu_tui.base.faults import fault_point
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
        fault_point(f"written {tmp.name}")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)
    fault_point(f"renamed {path.name}")


def write_json(path: Path, data: Any) -> None:
    write_bytes(path, encode_json(data, indent=2))


def encode_json(data: Any, indent: int | None = None) -> bytes:
    """UTF-8 JSON; text that UTF-8 cannot carry (a file name that is not UTF-8, in Python's surrogateescape)
    is written as `\\udcXX` escapes, which read back to the same name."""
    separators = None if indent else (",", ":")
    text = json.dumps(data, indent=indent, ensure_ascii=False, separators=separators) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(data, indent=indent, separators=separators) + "\n").encode("ascii")


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every regular file and directory under `root` (files written by git or tar), then `root` itself."""
    for directory, _dirs, files in os.walk(root):
        for name in files:
            file = os.path.join(directory, name)
            if os.path.isfile(file) and not os.path.islink(file):
                fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        fsync_dir(Path(directory))


def remove_stale_temps(directory: Path) -> None:
    """Remove temp files (`.NAME.PID.HEX.tmp`) whose writer is gone: a kill between write and rename leaves one."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        parts = name.split(".")
        if not (name.startswith(".") and name.endswith(".tmp") and len(parts) >= 4 and parts[-3].isdigit()):
            continue
        if os.path.exists(f"/proc/{parts[-3]}"):
            continue  # its writer may still run
        try:
            os.unlink(directory / name)
        except OSError:
            pass
