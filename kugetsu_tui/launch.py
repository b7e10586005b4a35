"""Running agent commands: detached agents under our supervisor, and short synchronous steps.

Commands are argv lists from the templates in config.toml; nothing goes through a shell.
subprocess and threading are imported where used: a start refused at capacity needs neither.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kugetsu_tui.errors import KugetsuError
from kugetsu_tui.home import Home
from kugetsu_tui.opencode.commands import INSTALL_HINT

if TYPE_CHECKING:
    import subprocess

STEP_TIMEOUT = 120.0


def _on_path(program: str) -> bool:
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or ".", program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return True
    return False


def require_program(argv: list[str], step: str) -> None:
    """Fail before any side effect when the agent program cannot be found."""
    program = argv[0]
    if "/" in program:
        if Path(program).is_file():
            return
    elif _on_path(program):
        return
    raise KugetsuError(
        f"agent program {program!r} not found on PATH: install it ({INSTALL_HINT}) or set [agent] {step} in config.toml"
    )


def agent_env(cwd: str) -> dict[str, str]:
    """The environment for an agent command run in `cwd`.

    opencode takes its directory from $PWD, not from the real working directory; a stale PWD
    makes `opencode run --session` hang silently, so PWD always names the directory we run in.
    """
    return dict(os.environ, PWD=os.path.abspath(cwd))


def launch_supervised(home: Home, name: str, run_id: str, argv: list[str], cwd: str) -> subprocess.Popen[bytes]:
    """Start the supervisor (and through it the agent) in its own session, detached from us."""
    import subprocess
    import threading

    command = [
        sys.executable,
        "-m",
        "kugetsu_tui.supervisor",
        "--home",
        str(home.root),
        "--name",
        name,
        "--run-id",
        run_id,
        "--cwd",
        cwd,
    ]
    proc = subprocess.Popen(
        [*command, "--", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    # Reap it when it ends so a long-lived console never collects zombies.
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc


def run_step(step: str, argv: list[str], cwd: str, timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """Run export/delete/import and return its result; a missing program is a clear error."""
    import subprocess

    require_program(argv, step)
    try:
        return subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, cwd=cwd, env=agent_env(cwd), timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise KugetsuError(f"{step} command timed out after {timeout:.0f}s: {argv[0]}") from None
    except OSError as exc:
        raise KugetsuError(f"cannot run {step} command {argv[0]!r}: {exc.strerror or exc}") from None
