"""Session files: reading them defensively, counting them, and updating them safely.

Every `*.json` in `sessions/` is a session, whatever its name or content. Kind comes from
the file name alone (`base.json`, `pm-agent.json`, anything else is a dev session), so the
count of dev sessions never depends on a file parsing: a broken file still holds a slot.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from kugetsu_tui.base.atomic import encode_json, write_bytes
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.sessions.states import State

BASE_FILE = "base.json"
PM_FILE = "pm-agent.json"
MAX_SESSION_BYTES = 1024 * 1024

KIND_BASE, KIND_PM, KIND_DEV = "base", "pm", "dev"
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
KIND_ORDER = {KIND_BASE: 0, KIND_PM: 1, KIND_DEV: 2}


def now_iso() -> str:
    """A local timestamp with offset, as kugetsu writes `created_at`."""
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def kind_for_filename(filename: str) -> str:
    if filename == BASE_FILE:
        return KIND_BASE
    if filename == PM_FILE:
        return KIND_PM
    return KIND_DEV


def is_session_filename(filename: str) -> bool:
    """`*.json` as a shell glob sees it: hidden names (our temp files, the lock) are not sessions."""
    return filename.endswith(".json") and not filename.startswith(".")


class Session(NamedTuple):
    """One session file as found on disk. `error` is set when the file is unusable (state corrupt).

    NamedTuples rather than dataclasses throughout the core: importing dataclasses costs the
    CLI ~15 ms of start-up. `data` is never mutated in place (update_session copies it).
    """

    name: str
    path: Path
    kind: str
    data: dict[str, Any]
    error: str | None = None
    mtime: float = 0.0

    @property
    def corrupt(self) -> bool:
        return self.error is not None

    @property
    def recorded_state(self) -> State:
        """What the file says (CORRUPT when it cannot be read); see `overview.view` for what is shown."""
        if self.error is not None:
            return State.CORRUPT
        return State.recorded(self.data.get("state"))

    @property
    def issue_ref(self) -> str | None:
        return _text(self.data.get("issue_ref"))

    @property
    def opencode_session_id(self) -> str | None:
        return _text(self.data.get("opencode_session_id"))

    @property
    def created_at(self) -> str | None:
        return _text(self.data.get("created_at"))

    @property
    def pid(self) -> int | None:
        return _int(self.data.get("pid"))

    @property
    def supervisor_pid(self) -> int | None:
        return _int(self.data.get("supervisor_pid"))

    @property
    def log(self) -> str | None:
        """The agent log's path; None for one no file can have (a NUL byte: every os call refuses it)."""
        value = _text(self.data.get("log"))
        return None if value is None or "\0" in value else value

    def created_timestamp(self) -> float:
        """Creation time for ordering: `created_at` when it parses, else the file's mtime."""
        stamp = iso_timestamp(self.created_at) if self.created_at else None
        return self.mtime if stamp is None else stamp

    def sort_key(self) -> tuple[int, float, str]:
        return (KIND_ORDER[self.kind], self.created_timestamp(), self.name)


@lru_cache(maxsize=1 << 16)
def iso_timestamp(text: str) -> float | None:
    """An ISO 8601 time as epoch seconds (None when it does not parse). Cached: the console sorts its rows
    by it at each redraw, 10,000 of them after a load or a work check, and a session keeps its `created_at`."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def read_session(path: Path) -> Session:
    """Read one file; never raise for its content. Symlinks are reported, never followed."""
    name, kind = path.name[: -len(".json")], kind_for_filename(path.name)

    def corrupt(reason: str, mtime: float = 0.0) -> Session:
        return Session(name=name, path=path, kind=kind, data={}, error=reason, mtime=mtime)

    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        return corrupt(f"cannot stat: {exc.strerror}")
    if stat.S_ISLNK(info.st_mode):
        return corrupt("is a symlink (not followed)", info.st_mtime)
    if not stat.S_ISREG(info.st_mode):
        return corrupt("not a regular file", info.st_mtime)
    if info.st_size > MAX_SESSION_BYTES:
        return corrupt(f"larger than 1 MiB ({info.st_size} bytes)", info.st_mtime)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            # Sized by the stat, on the bare descriptor: a 1 MiB request allocates 1 MiB, and a file object
            # costs more than the read; both showed in `ls` at 10,000 files.
            raw = os.read(fd, info.st_size + 1)
            while info.st_size < len(raw) <= MAX_SESSION_BYTES:  # it grew since the stat
                more = os.read(fd, MAX_SESSION_BYTES + 1 - len(raw))
                if not more:
                    break
                raw += more
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise
    except PermissionError:
        return corrupt("unreadable: permission denied", info.st_mtime)
    except OSError as exc:
        return corrupt(f"unreadable: {exc.strerror}", info.st_mtime)
    if not raw.strip():
        return corrupt("empty file", info.st_mtime)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return corrupt("not UTF-8 text (binary?)", info.st_mtime)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return corrupt(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", info.st_mtime)
    except RecursionError:
        return corrupt("invalid JSON: nested too deeply", info.st_mtime)
    except ValueError:  # a number of more digits than Python converts (4300)
        return corrupt("invalid JSON: a number too long to read", info.st_mtime)
    if not isinstance(data, dict):
        return corrupt(f"JSON {_JSON_TYPES.get(type(data), 'value')} where an object was expected", info.st_mtime)
    return Session(name=name, path=path, kind=kind, data=data, mtime=info.st_mtime)


def session_names(sessions_dir: Path) -> list[str]:
    """The file names of the sessions, without making a path of each (counting needs only names)."""
    try:
        return [name for name in os.listdir(sessions_dir) if is_session_filename(name)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def same_issue_file(sessions_dir: Path, name: str) -> str | None:
    """The file of another session named `name` up to case: GitHub and Gitea owners and repositories,
    and hosts, are case-insensitive, so `ACME/Widgets#84` and `acme/widgets#84` are one issue."""
    wanted = f"{name}.json".casefold()
    for found in session_names(sessions_dir):
        if found.casefold() == wanted and found != f"{name}.json":
            return found
    return None


def session_paths(sessions_dir: Path) -> list[Path]:
    try:
        # iterdir makes each child path without re-parsing it: half the cost of `dir / name` at 10,000
        return [path for path in sessions_dir.iterdir() if is_session_filename(path.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []  # no sessions directory: no sessions (writing one will say what is wrong)


def list_sessions(home: Home) -> list[Session]:
    """All sessions, base first, then PM, then dev sessions in creation order."""
    sessions = []
    for path in session_paths(home.sessions_dir):
        try:
            sessions.append(read_session(path))
        except FileNotFoundError:
            continue  # removed between listdir and read
    return sorted(sessions, key=Session.sort_key)


def count_active(home: Home) -> int:
    """Dev sessions counted by exclusion, never by a name pattern, and never by content."""
    return sum(1 for name in session_names(home.sessions_dir) if kind_for_filename(name) == KIND_DEV)


def update_session(
    home: Home,
    name: str,
    mutate: Callable[[dict[str, Any]], dict[str, Any] | None],
    *,
    run_id: str | None = None,
) -> dict[str, Any] | None:
    """Read-modify-write one session under the lock, keeping fields we do not know.

    Does nothing (returns None) if the file is gone, unusable, or, when `run_id` is given,
    belongs to another launch: a late write from an old agent never resurrects or clobbers
    a destroyed or restarted session.
    """
    with sessions_lock(home):
        try:
            session = read_session(home.session_path(name))
        except FileNotFoundError:
            return None
        if session.corrupt or (run_id is not None and session.data.get("run_id") != run_id):
            return None
        data = dict(session.data)
        result = mutate(data)
        data = result if result is not None else data
        write_session_file(session.path, data)
        return data


def write_session_file(path: Path, data: dict[str, Any]) -> None:
    """Write a session indented, as kugetsu does, or compact when indenting would take it past the cap
    (deep nesting grows with the indent): a file we could read is never made one we cannot."""
    try:
        encoded = encode_json(data, indent=2)
        if len(encoded) > MAX_SESSION_BYTES:
            encoded = encode_json(data)
    except (RecursionError, ValueError):
        encoded = b""
    if not encoded or len(encoded) > MAX_SESSION_BYTES:
        raise KugetsuError(f"cannot rewrite {path.name}: it would not fit in 1 MiB as JSON; nothing was written")
    write_bytes(path, encoded)
