"""Helpers for the tests that drive the real opencode CLI against a fake model on 127.0.0.1.

- :func:`ensure_opencode`: installs the pinned npm package ``opencode-ai`` under ``<repo>/.opencode``.
- :class:`OpenCode`: runs the binary (argv lists, never a shell) in the isolated env and a project dir.
- :func:`run_command`: runs any argv in its own process group, killed whole on timeout.
- :func:`init_git_project`, :func:`write_kugetsu_home`: scratch project dirs and kugetsu homes.

Facts the helpers rely on (opencode-ai 1.18.33, see test_opencode_facts.py):
- ``opencode run`` takes its directory from $PWD when it is set, not from the real cwd
  (``session list`` and ``import`` use the real cwd): :func:`run_command` sets PWD to the cwd.
- ``opencode run --session ID`` must run in the session's own directory ($PWD, or ``--dir``): from
  any other directory, even a subdirectory of the same git project, it sends the message but
  prints nothing and never exits. The helpers therefore run in the project directory.
- ``opencode session list --format json`` lists only the sessions of the cwd's project and prints
  nothing at all (not ``[]``) when there are none.
- ``opencode import FILE`` files the session under the cwd's project and directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest

from kugetsu_tui.opencode.server import OpencodeServer, ServerUnavailable
from tests.helpers import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
OPENCODE_PREFIX = REPO_ROOT / ".opencode"
OPENCODE_PACKAGE = "opencode-ai"
OPENCODE_VERSION = "1.18.33"
NPM_INSTALL_TIMEOUT = 600.0
# One opencode call takes ~2-6 s here; a call still running after this is a hang (see module doc).
OPENCODE_TIMEOUT = 90.0

# Env vars that keep opencode off the network (beyond the fake model on 127.0.0.1), verified by
# strace: without OPENCODE_DISABLE_MODELS_FETCH every run looks up models.opencode.ai; the others
# turn off the update check, sharing, LSP downloads and default plugins. What is left is one
# lookup on the npm registry by a fresh HOME (the config dir's @opencode-ai/plugin), cached after.
OFFLINE_ENV = {
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
    "OPENCODE_DISABLE_CLAUDE_CODE": "1",
    "OPENCODE_DISABLE_EXTERNAL_SKILLS": "1",
}
# Inherited variables that would point opencode (or our CLI) somewhere else.
SCRUBBED_PREFIXES = ("OPENCODE_", "KUGETSU_")
SCRUBBED = {"MAX_CONCURRENT_AGENTS", "XDG_RUNTIME_DIR", "XDG_CONFIG_DIRS", "XDG_DATA_DIRS", "PWD", "OLDPWD"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> NoReturn:
    """Skip locally, fail under CI: CI must never skip the real-opencode tests."""
    if in_ci():
        pytest.fail(f"real opencode unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"real opencode unavailable: {reason}")


def _installed_version(prefix: Path) -> str | None:
    try:
        data = json.loads((prefix / "node_modules" / OPENCODE_PACKAGE / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("version") if isinstance(data, dict) else None


def _bin_path(prefix: Path) -> Path:
    return prefix / "node_modules" / ".bin" / "opencode"


def _bin_works(binary: Path) -> str | None:
    """The version the binary reports, or None when it does not run."""
    if not binary.exists():
        return None
    try:
        proc = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_opencode(prefix: Path = OPENCODE_PREFIX) -> Path:
    """Install the pinned opencode-ai under ``prefix`` unless that exact version is there."""
    binary = _bin_path(prefix)
    if _installed_version(prefix) == OPENCODE_VERSION and _bin_works(binary) == OPENCODE_VERSION:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not on PATH (install Node.js and npm)")
    argv = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-save",
        "--no-audit",
        "--no-fund",
        f"{OPENCODE_PACKAGE}@{OPENCODE_VERSION}",
    ]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=NPM_INSTALL_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        _unavailable(f"`{' '.join(argv)}` timed out after {NPM_INSTALL_TIMEOUT:.0f}s")
    except OSError as exc:
        _unavailable(f"cannot run npm: {exc}")
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        _unavailable(f"`{' '.join(argv)}` exited {proc.returncode}:\n{tail}")
    version = _bin_works(binary)
    if version != OPENCODE_VERSION:
        _unavailable(f"after npm install, {binary} reports version {version!r}, expected {OPENCODE_VERSION}")
    return binary


# --- running opencode ---------------------------------------------------------------------------


@dataclass
class Result:
    argv: list[str]
    cwd: str
    returncode: int
    stdout: str
    stderr: str
    duration: float

    def json_lines(self) -> list[dict[str, Any]]:
        """stdout's JSON objects, one a line (``--format json``); other lines are ignored."""
        events = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                events.append(value)
        return events

    def describe(self) -> str:
        return (
            f"$ (cd {self.cwd} && {' '.join(self.argv)})\n-> exit {self.returncode} in {self.duration:.1f}s\n"
            f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}"
        )


class CommandTimeout(AssertionError):
    pass


def run_command(
    argv: list[str],
    *,
    env: Mapping[str, str],
    cwd: str | Path,
    timeout: float = OPENCODE_TIMEOUT,
    input_text: str | None = None,
) -> Result:
    """Run argv (never through a shell) in its own process group; kill the whole group on timeout."""
    started = time.monotonic()
    env = dict(env)
    # `opencode run` takes its directory from $PWD, not from the real cwd: keep them in step, as a
    # shell would, unless the caller set PWD on purpose.
    env.setdefault("PWD", str(cwd))
    proc = subprocess.Popen(
        [str(a) for a in argv],
        cwd=str(cwd),
        env=env,
        text=True,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stdout, stderr = proc.communicate()
        raise CommandTimeout(
            f"timed out after {timeout:.0f}s: (cd {cwd} && {' '.join(map(str, argv))})\n"
            f"--- stdout ---\n{stdout[-2000:]}\n--- stderr ---\n{stderr[-2000:]}"
        ) from None
    return Result([str(a) for a in argv], str(cwd), proc.returncode, stdout, stderr, time.monotonic() - started)


def session_id_of(result: Result) -> str:
    """The one sessionID that every JSON event of an ``opencode run --format json`` carries."""
    ids = {sid for e in result.json_lines() if isinstance(sid := e.get("sessionID"), str)}
    assert len(ids) == 1, f"expected one sessionID in the JSON events, found {sorted(ids)}\n{result.describe()}"
    return ids.pop()


@dataclass
class OpenCode:
    """Runs the real opencode binary with the isolated env, by default in ``project``."""

    binary: Path
    env: dict[str, str]
    project: Path
    timings: dict[str, list[float]] = field(default_factory=dict)

    def __call__(
        self,
        *args: str,
        cwd: str | Path | None = None,
        timeout: float = OPENCODE_TIMEOUT,
        check: bool = False,
        pwd: str | Path | None = None,
    ) -> Result:
        env = dict(self.env)
        if pwd is not None:
            env["PWD"] = str(pwd)
        result = run_command([str(self.binary), *args], env=env, cwd=cwd or self.project, timeout=timeout)
        self.timings.setdefault(args[0] if args else "", []).append(result.duration)
        if check:
            assert result.returncode == 0, result.describe()
        return result

    def run(
        self,
        message: str,
        *,
        session: str | None = None,
        fork: bool = False,
        title: str | None = None,
        cwd: str | Path | None = None,
        check: bool = True,
        pwd: str | Path | None = None,
    ) -> Result:
        args = ["run"]
        if session:
            args += ["--session", session]
        if fork:
            args.append("--fork")
        if title:
            args += ["--title", title]
        args += ["--format", "json", message]
        return self(*args, cwd=cwd, check=check, pwd=pwd)

    def session_list(self, cwd: str | Path | None = None) -> list[dict[str, Any]]:
        result = self("session", "list", "--format", "json", cwd=cwd, check=True)
        text = result.stdout.strip()
        if not text:  # no sessions in this project: opencode prints nothing at all
            return []
        data = json.loads(text)
        assert isinstance(data, list), result.describe()
        return data

    def session_ids(self, cwd: str | Path | None = None) -> list[str]:
        return [s["id"] for s in self.session_list(cwd)]

    def export(self, session_id: str, cwd: str | Path | None = None) -> dict[str, Any]:
        result = self("export", session_id, cwd=cwd, check=True)
        return json.loads(result.stdout)

    def message_count(self, session_id: str) -> int:
        return len(self.export(session_id).get("messages") or [])

    def delete(self, session_id: str, cwd: str | Path | None = None) -> Result:
        return self("session", "delete", session_id, cwd=cwd)

    def import_file(self, path: str | Path, cwd: str | Path | None = None) -> Result:
        return self("import", str(path), cwd=cwd)

    def create_session(self, message: str = "hello") -> str:
        """A new top-level session (what kugetsu's base session is); returns its id."""
        return session_id_of(self.run(message))

    def fork(self, base: str, message: str, title: str | None = None) -> str:
        return session_id_of(self.run(message, session=base, fork=True, title=title))


def init_git_project(path: Path, env: Mapping[str, str], name: str) -> Path:
    """A git repo with one commit: opencode names the project by its root commit, so every project
    made here is its own project (a directory that is no git repo, or has no commit, is "global")."""
    path.mkdir(parents=True, exist_ok=True)
    git = shutil.which("git")
    if git is None:
        _unavailable("git is not on PATH (opencode needs it for projects)")
    (path / "README.md").write_text(f"# {name}\nA scratch project for opencode tests.\n", "utf-8")
    for argv in (
        [git, "init", "-q", "."],
        [git, "add", "README.md"],
        [
            git,
            "-c",
            "user.name=kugetsu-tests",
            "-c",
            "user.email=tests@invalid",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            f"init {name}",
        ],
    ):
        proc = subprocess.run(argv, cwd=path, env=dict(env), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{argv} failed: {proc.stderr}"
    return path


def write_kugetsu_home(
    home: Path, base_session_id: str, *, pm_agent: str | None = None, worktrees: bool = True
) -> Path:
    """A kugetsu home as `kugetsu init` leaves it: sessions/base.json and index.json.

    `worktrees=False` writes a config.toml that turns worktrees off: agents then run in the
    directory they are started from, forked with `opencode run --fork`.
    """
    sessions = home / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    base = {"type": "base", "opencode_session_id": base_session_id, "created_at": now, "state": "idle"}
    (sessions / "base.json").write_text(json.dumps(base, indent=2) + "\n", "utf-8")
    index: dict[str, object] = {"base": base_session_id, "pm_agent": pm_agent, "issues": {}}
    (home / "index.json").write_text(json.dumps(index, indent=2) + "\n", "utf-8")
    if not worktrees:
        (home / "config.toml").write_text("[worktrees]\nenabled = false\n", "utf-8")
    return home


# --- opencode serve -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """`opencode serve` on 127.0.0.1, started in `project`; `kill` and `start` again on the same port."""

    def __init__(self, opencode: OpenCode, project: Path, port: int) -> None:
        self.opencode, self.project, self.port = opencode, project, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        self.proc = subprocess.Popen(
            [str(self.opencode.binary), "serve", "--port", str(self.port), "--hostname", "127.0.0.1"],
            cwd=self.project,
            env=dict(self.opencode.env, PWD=str(self.project)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = OpencodeServer(self.url)

        def up() -> bool:
            try:
                client.statuses(str(self.project))
            except ServerUnavailable:
                return False
            return True

        wait_for(up, timeout=60, interval=0.2)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
