"""Running one agent step (export, delete, import) to completion, in the session's directory.

Commands are argv lists from the templates in config.toml; nothing goes through a shell.
subprocess is imported where used: a start refused at capacity does not need it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.faults import fault_point
from kugetsu_tui.opencode.commands import INSTALL_HINT
from kugetsu_tui.opencode.version import check_program

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
    """Fail before any side effect when the agent program cannot be found, or is an opencode we do not drive."""
    program = argv[0]
    if Path(program).is_file() if "/" in program else _on_path(program):
        check_program(argv)
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


def run_step(step: str, argv: list[str], cwd: str, timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """Run export/delete/import and return its result; a missing program is a clear error."""
    import subprocess

    require_program(argv, step)
    try:
        result = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, cwd=cwd, env=agent_env(cwd), timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise KugetsuError(f"{step} command timed out after {timeout:.0f}s: {argv[0]}") from None
    except OSError as exc:
        raise KugetsuError(f"cannot run {step} command {argv[0]!r}: {exc.strerror or exc}") from None
    fault_point(f"{step} ran")
    return result
