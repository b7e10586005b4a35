"""config.toml, parsed once while its bytes stay the same: every settings loader asks here.

A command reads several tables (the limit, [agent], [worktrees], [forge], [queue]); each loader
calling `load_toml` used to parse the whole file again. The parse is kept with the bytes it came
from: a file that changes, as in a long-lived console, is parsed again, one that does not costs a
read (file times are too coarse to tell two quick writes apart). It is opened the way session files
are (never blocking on a FIFO, only a regular file, a size cap); a broken file is one clear line.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home

MAX_CONFIG_BYTES = 1024 * 1024
_parsed: dict[Path, tuple[bytes, str, dict[str, Any]]] = {}


def load_toml(home: Home) -> dict[str, Any]:
    """config.toml as a dict ({} when absent). The same dict is returned while the file is unchanged:
    treat it as read-only (copy it before changing it)."""
    return _read(home)[1]


def config_text(home: Home) -> str:
    """config.toml's text as last parsed ("" when absent), for checks on how a value was written."""
    return _read(home)[0]


def _read(home: Home) -> tuple[str, dict[str, Any]]:
    path = home.config_toml
    raw = _read_bytes(path)
    if raw is None:
        return "", {}
    cached = _parsed.get(path)
    if cached is not None and cached[0] == raw:
        return cached[1], cached[2]
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise KugetsuError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise KugetsuError(f"{path} is not valid TOML: {exc}") from None
    except ValueError:  # tomllib converts integers itself: more digits than Python's int-string limit
        raise KugetsuError(f"{path} holds a number too long to read (over 4300 digits)") from None
    _parsed[path] = (raw, text, data)
    return text, data


def _read_bytes(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KugetsuError(f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KugetsuError(f"{path} is not a regular file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise KugetsuError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a config file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise KugetsuError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
