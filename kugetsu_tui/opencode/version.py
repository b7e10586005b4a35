"""Which generation of opencode is installed or serving: kugetsu-tui drives opencode 1.x (npm `opencode-ai`).

opencode V2 (npm `@opencode/cli`) replaces the `opencode` binary when installed and serves another
API (under `/api/*`, always authenticated), so every call of ours would fail in a confusing way.
Before the first call the version is read and a major other than 1 is refused in one line naming
what was found and what to install. `opencode --version` costs about 0.6 s, so its answer is cached
by the program's real path, mtime and size in `$XDG_CACHE_HOME/kugetsu-tui/` (the one file written
outside the kugetsu home); a server says its version in `GET /global/health`. A version that cannot
be read is not refused: the call itself then says what is wrong. This module is the seam where an
adapter for another generation would be chosen; none is guessed without a way to run it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from kugetsu_tui.base.atomic import encode_json, write_bytes
from kugetsu_tui.base.errors import KugetsuError

if TYPE_CHECKING:
    from kugetsu_tui.opencode.server import OpencodeServer

SUPPORTED_MAJOR = 1
INSTALL = "install opencode-ai 1.x (npm install -g opencode-ai@1.18.33)"
PROGRAM = "opencode"
CACHE_DIR = "kugetsu-tui"
CACHE_FILE = "opencode-versions.json"
VERSION_TIMEOUT = 30.0
_VERSION = re.compile(r"\bv?(\d+)\.(\d+)(?:\.(\d+))?\S*")


def parse_version(text: str) -> str | None:
    """The first `MAJOR.MINOR[.PATCH…]` in a version answer (`1.18.33`, `opencode 2.0.0-beta`), or None."""
    match = _VERSION.search(text)
    return match.group(0).removeprefix("v") if match else None


def major(version: str) -> int:
    return int(version.split(".", 1)[0])


def generation_problem(version: str, source: str) -> str | None:
    """One line refusing `version` (read from `source`) when this program does not drive it; None when it does."""
    if major(version) == SUPPORTED_MAJOR:
        return None
    return f"{source} says {version}: kugetsu-tui drives opencode {SUPPORTED_MAJOR}.x only; {INSTALL}"


def cache_path() -> Path:
    """Where answers of `--version` are kept: $XDG_CACHE_HOME (when absolute, as the spec says) or ~/.cache."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / CACHE_DIR / CACHE_FILE


def program_version(program: str) -> str | None:
    """What `program --version` says, read once per program file (path, mtime, size); None if it cannot tell."""
    import shutil  # here: a start refused at capacity does not need it

    found = program if "/" in program else shutil.which(program)
    if found is None:
        return None
    real = os.path.realpath(found)
    try:
        info = os.stat(real)
    except OSError:
        return None
    stamp = [info.st_mtime_ns, info.st_size]
    cache = _read_cache()
    entry = cache.get(real)
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("version"), str):
        return str(entry["version"])
    version = _ask_version(found)
    if version is not None:
        cache[real] = {"stamp": stamp, "version": version}
        _write_cache(cache)
    return version


def check_program(argv: list[str]) -> None:
    """Refuse (KugetsuError) an `opencode` command whose program is a generation this program does not drive."""
    if not argv or os.path.basename(argv[0]) != PROGRAM:
        return  # another agent program (the demo's, a wrapper): nothing to check
    version = program_version(argv[0])
    problem = generation_problem(version, f"`{argv[0]} --version`") if version else None
    if problem:
        raise KugetsuError(problem)


def check_server(url: str, timeout: float = 2.0) -> None:
    """Refuse (KugetsuError) a server that says it is a generation this program does not drive."""
    from kugetsu_tui.opencode.server import OpencodeServer

    problem = server_problem(OpencodeServer(url, timeout))
    if problem:
        raise KugetsuError(problem)


def server_problem(server: OpencodeServer) -> str | None:
    """Why `server` (by its `GET /global/health`) is not one this program drives; None when it is.

    A server that cannot be asked is no problem here: the call that needs it says why it failed."""
    from kugetsu_tui.opencode.server import ServerUnavailable

    try:
        version = server.health_version()
    except ServerUnavailable:
        return None
    parsed = parse_version(version) if version else None
    return generation_problem(parsed, f"the opencode server {server.url} (GET /global/health)") if parsed else None


def _ask_version(program: str) -> str | None:
    import subprocess

    try:
        done = subprocess.run(
            [program, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return parse_version(done.stdout.decode("utf-8", "replace"))


def _read_cache() -> dict[str, object]:
    try:
        data = json.loads(cache_path().read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache: dict[str, object]) -> None:
    """Best effort: a cache that cannot be written only costs the next call its 0.6 s."""
    path = cache_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_bytes(path, encode_json(cache, indent=1))
    except OSError:
        pass
