"""Shared helpers for the test suites: kugetsu-format homes, the demo agent, the CLI, polling.

Everything here works on temporary homes (never ~/.kugetsu) and drives real subprocesses:
the CLI (`python -m kugetsu_tui`), our supervisor and the demo agent, which prints
opencode-style JSON event lines and keeps its sessions as files in a store directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import psutil

from kugetsu_tui.base.home import Home
from kugetsu_tui.demo.home import demo_templates

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent
LIMIT_ENV = "MAX_CONCURRENT_AGENTS"

#: the file names kugetsu itself writes (from the seed bug report): real dev names, not issue-*.json
SEED_DEV_NAMES = ("github.com-shoko-kugetsu-14", "github.com-shoko-kugetsu-49", "github.com-shoko-kugetsu-56")

T = TypeVar("T")


# --- homes ----------------------------------------------------------------------------------


def demo_store(home: Home) -> Path:
    """The demo agent's session store for `home`: a sibling directory, so the home stays kugetsu's."""
    return Path(f"{home.root}.store")


def create_demo_session(store: Path, title: str = "base", message: str = "init") -> str:
    """Create a session in the demo store the way the demo agent does (`run`), return its id."""
    from kugetsu_tui.demo import agent as demo_agent

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = demo_agent.main(
            ["--store", str(store), "--seconds", "0", "run", "--title", title, "--format", "json", message]
        )
    assert code == 0, out.getvalue()
    ids = {json.loads(line)["sessionID"] for line in out.getvalue().splitlines() if line.strip()}
    assert len(ids) == 1, ids
    return ids.pop()


def store_ids(store: Path) -> set[str]:
    """The session ids the demo agent's store holds."""
    if not store.is_dir():
        return set()
    return {p.name[: -len(".json")] for p in store.glob("ses_*.json")}


def make_home(tmp_path: Path, name: str = "home", *, base: bool = True, pm: bool = False, index: bool = True) -> Home:
    """A kugetsu home like `kugetsu init` leaves it: sessions/base.json with a real base session id.

    The base session exists in the demo agent's store (`demo_store(home)`), so a start that forks
    it through the demo agent works. No config.toml is written: call `demo_agent_config`.
    """
    home = Home(Path(tmp_path) / name)
    home.ensure(home.root, home.sessions_dir)
    store = demo_store(home)
    index_data: dict[str, Any] = {"base": None, "pm_agent": None, "issues": {}}
    if base:
        sid = create_demo_session(store, "base")
        write_session(
            home,
            "base",
            {"type": "base", "opencode_session_id": sid, "created_at": "2026-03-29T18:00:00+02:00", "state": "idle"},
        )
        index_data["base"] = sid
    if pm:
        sid = create_demo_session(store, "pm agent")
        write_session(
            home,
            "pm-agent",
            {
                "type": "pm_agent",
                "opencode_session_id": sid,
                "created_at": "2026-03-29T18:05:00+02:00",
                "state": "idle",
            },
        )
        index_data["pm_agent"] = sid
    if index:
        home.index_path.write_text(json.dumps(index_data, indent=2) + "\n")
    return home


def base_id(home: Home) -> str:
    return json.loads((home.sessions_dir / "base.json").read_text())["opencode_session_id"]


def write_session(home: Home, name: str, data: Any = None, *, mtime: float | None = None, **fields: Any) -> Path:
    """Write sessions/<name>.json: a dict or list as JSON, bytes/str as they are; `mtime` sets its time.

    With no data, a kugetsu v2 dev session for a ref derived from the name is written.
    """
    home.ensure(home.root, home.sessions_dir)
    path = home.sessions_dir / f"{name}.json"
    if data is None:
        digest = hashlib.sha1(name.encode()).hexdigest()
        data = {
            "type": "forked",
            "issue_ref": f"github.com/shoko/kugetsu#{int(digest[:6], 16) + 1}",
            "opencode_session_id": f"ses_{digest[:20]}",
            "created_at": "2026-03-29T18:16:10+02:00",
            "state": "idle",
        }
    if isinstance(data, dict):
        data = {**data, **fields}
    if isinstance(data, (dict, list)):
        data = json.dumps(data, indent=2)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def dev_files(home: Home) -> list[str]:
    """Names of the dev session files (every visible *.json except base and pm), sorted."""
    if not home.sessions_dir.is_dir():
        return []
    return sorted(
        n
        for n in os.listdir(home.sessions_dir)
        if n.endswith(".json") and not n.startswith(".") and n not in ("base.json", "pm-agent.json")
    )


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text("utf-8"))


def read_index(home: Home) -> dict[str, Any]:
    return read_json(home.index_path)


def tree_listing(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every entry under `root` (not following symlinks): kind, mode and a content digest.

    Compare two listings to prove that a command wrote nothing anywhere.
    """
    result: dict[str, tuple[str, int, str]] = {}
    root = Path(root)
    if not os.path.lexists(root):
        return result
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                kind, digest = "link", os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                kind, digest = "file", hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISDIR(info.st_mode):
                kind, digest = "dir", ""
            else:
                kind, digest = "other", ""
            result[str(path.relative_to(root))] = (kind, stat.S_IMODE(info.st_mode), digest)
    return result


def snapshot_tree(root: Path) -> dict[bytes, tuple[int, bytes]]:
    """Every entry under `root`, byte for byte: names as bytes (undecodable ones too), the mode, and the
    content of a file or the target of a symlink (never followed). Equal snapshots: nothing changed."""
    result: dict[bytes, tuple[int, bytes]] = {}
    top = os.fsencode(root)
    if not os.path.lexists(top):
        return result
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    content = handle.read()
            else:
                content = b""
            result[os.path.relpath(path, top)] = (info.st_mode, content)
    return result


# --- agent configuration ------------------------------------------------------------------------


def demo_agent_config(
    home: Home, store: Path | None = None, seconds: float = 0, fail: bool = False, **overrides: Any
) -> Path:
    """Write config.toml's [agent] table for the demo agent, keeping the file's other keys.

    `overrides` replace or add keys of [agent] (e.g. `export=[...]`, `start_wait=5`).
    """
    import tomli_w

    store = demo_store(home) if store is None else Path(store)
    path = home.config_toml
    data: dict[str, Any] = {}
    if path.exists():
        import tomllib

        data = tomllib.loads(path.read_text("utf-8"))
    agent: dict[str, Any] = dict(demo_templates(store, seconds, fail))
    agent["start_wait"] = 20
    agent.update(overrides)
    data["agent"] = agent
    home.ensure(home.root)
    path.write_text(tomli_w.dumps(data))
    return path


def set_toml_limit(home: Home, raw: str) -> None:
    """Put `max_concurrent_agents = <raw TOML>` at the top of config.toml, keeping the rest."""
    path = home.config_toml
    rest = path.read_text("utf-8") if path.exists() else ""
    lines = [line for line in rest.splitlines() if not line.startswith("max_concurrent_agents")]
    path.write_text(f"max_concurrent_agents = {raw}\n" + "\n".join(lines) + "\n")


FIXED_NOW = 1_795_000_000.0  # a fixed "now" for the console, so ages in snapshots never change


def set_limit(home: Home, limit: int | str, seconds: float = 0.3) -> None:
    """config.toml with the limit and the demo home's agent templates, whose runs take `seconds`.

    The forge is turned off for github.com: no test asks the network (work status comes from git).
    """
    import tomli_w

    store = home.root / "demo-opencode"
    home.ensure(home.root)
    home.config_toml.write_text(
        tomli_w.dumps(
            {
                "max_concurrent_agents": limit,
                "agent": demo_templates(store, seconds),
                "forge": {"github.com": {"api": ""}},
            }
        )
    )


# --- the CLI --------------------------------------------------------------------------------------


def cli_env(home: Home | Path | None, env: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """os.environ without MAX_CONCURRENT_AGENTS, with KUGETSU_HOME set; `env` values of None unset."""
    result = {k: v for k, v in os.environ.items() if k != LIMIT_ENV}
    if home is not None:
        result["KUGETSU_HOME"] = str(home.root if isinstance(home, Home) else home)
    result.pop("PYTHONWARNINGS", None)
    for key, value in (env or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def run_cli(
    home: Home | Path | None,
    *args: str,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 60,
    input: str | None = None,
    python_flags: Iterable[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run `python -m kugetsu_tui ARGS` against `home` with stdin not a terminal."""
    cwd = (home.root if isinstance(home, Home) else Path(home)).parent if home is not None else ROOT
    while not cwd.is_dir():
        cwd = cwd.parent
    return subprocess.run(
        [PY, *python_flags, "-m", "kugetsu_tui", *args],
        env=cli_env(home, env),
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL if input is None else None,
        input=input,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int = 1, *needles: str) -> str:
    """The command failed with `code` and said why on exactly one stderr line, without a traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# --- waiting and cleaning up ----------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.02, message: str = "condition"
) -> T:
    """Poll until `predicate()` is truthy and return its value; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


async def wait_until(
    pilot: Any, predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition"
) -> None:
    """`wait_for` for the console: let the app run (Pilot) until `predicate()` is truthy."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)


class Messages:
    """Every message the console's nodes handle, recorded through `run_test(message_hook=...)`."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self._ids: set[int] = set()  # the messages in `seen` stay alive, so their ids stay theirs

    def __call__(self, message: Any) -> None:
        if id(message) not in self._ids:  # a bubbling message is handled once per node: record it once
            self._ids.add(id(message))
            self.seen.append(message)

    def of(self, kind: type[T]) -> list[T]:
        return [m for m in self.seen if isinstance(m, kind)]

    def notified(self, *texts: str) -> bool:
        """Whether one notification containing every one of `texts` was shown."""
        from textual.notifications import Notify

        return any(all(t in n.notification.message for t in texts) for n in self.of(Notify))


def session_data(home: Home, name: str) -> dict[str, Any] | None:
    """The parsed session file, or None if it is missing or not (yet) a JSON object."""
    try:
        data = json.loads(home.session_path(name).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def wait_state(home: Home, name: str, *states: str, timeout: float = 15.0) -> dict[str, Any]:
    """Wait until the session's recorded state is one of `states`; return its data."""

    def check() -> dict[str, Any] | None:
        data = session_data(home, name)
        return data if data is not None and data.get("state") in states else None

    return wait_for(check, timeout, message=f"{name} in state {states} (now {session_data(home, name)})")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_recorded_processes(root: Path) -> None:
    """Kill every supervisor/agent process tree named by a session file under `root` (test teardown)."""
    roots: list[psutil.Process] = []
    for path in Path(root).rglob("*.json"):
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > 1 << 20:
                continue
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if not isinstance(data, dict):
            continue
        for key, started in (("supervisor_pid", "supervisor_started"), ("pid", "pid_started")):
            pid = data.get(key)
            if not isinstance(pid, int) or pid <= 1 or pid == os.getpid():
                continue
            try:
                proc = psutil.Process(pid)
                created = data.get(started)
                if isinstance(created, (int, float)) and abs(proc.create_time() - created) > 0.05:
                    continue
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue  # already dead (an orphan's zombie may linger where pid 1 does not reap)
                roots.append(proc)
            except psutil.Error:
                continue
    procs: list[psutil.Process] = []
    for proc in roots:
        try:
            procs += [p for p in [proc, *proc.children(recursive=True)] if p.status() != psutil.STATUS_ZOMBIE]
        except psutil.Error:
            continue
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + 5
    while any(_running(proc) for proc in procs) and time.monotonic() < deadline:
        time.sleep(0.01)


def _running(proc: psutil.Process) -> bool:
    """Still running: a zombie counts as dead (its parent, maybe pid 1, reaps it in its own time)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# --- scripted agents ----------------------------------------------------------------------------

#: an agent that reports a session id, works for argv[1] seconds, then exits with status argv[2]
REPORT_THEN_EXIT = """
import json, sys, time
print(json.dumps({"type": "step_start", "timestamp": 1, "sessionID": sys.argv[3], "part": {}}), flush=True)
time.sleep(float(sys.argv[1]))
if int(sys.argv[2]):
    print("Error: model overloaded", file=sys.stderr, flush=True)
sys.exit(int(sys.argv[2]))
"""


def scripted_agent(code: str, *args: str) -> list[str]:
    """An argv template running a small Python script as the agent: `[python, -c, code, *args]`."""
    return [PY, "-c", code, *args]


def ls_session_keys(kind: str) -> set[str]:
    """The keys of one session in `ls --json`: the same for the unit and the real-opencode tests."""
    keys = {
        "name",
        "kind",
        "issue_ref",
        "opencode_session_id",
        "state",
        "pid",
        "alive",
        "created_at",
        "path",
        "error",
        "worktree_path",
        "branch_name",
        "repo",
        "parked_at",
        "activity",
        "usage",
    }
    return keys | {"work"} if kind == "dev" else keys


def screen_lines(app: Any) -> list[str]:
    """The lines of a running Textual app's terminal, as drawn now."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
