"""The one git runner: argv lists, never a shell, one clear line when a command fails.

Every git command of ours goes through `run_git`, which drops the variables a git hook or wrapper sets
(GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE and the like): inherited, they would point git at another
repository than the one we name. `read_only` is for questions (is this branch merged?): git then takes
no optional locks, refreshes no index and answers in the C locale, so its words can be parsed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.faults import fault_point

if TYPE_CHECKING:
    import subprocess

GIT_TIMEOUT = 120.0
# Set by git hooks and wrappers; inherited, they would point every command at another repository.
_LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_QUARANTINE_PATH",
)
# The commands that change a repository: a crash test kills the process after each (base/faults.py).
_CHANGING = frozenset({"worktree", "branch", "fetch", "apply", "bundle"})
INSTALL_HINT = (
    "install git (e.g. `apt-get install git`), or turn worktrees off with `enabled = false` "
    "under [worktrees] in config.toml"
)


class GitError(KugetsuError):
    """A git command failed; the message names the command and git's own words."""


def git_program() -> str:
    """The git executable on PATH; a clear error when git is not installed."""
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or ".", "git")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise GitError(f"git is not installed (not found on PATH): {INSTALL_HINT}")


def git_environment(*, read_only: bool = False) -> dict[str, str]:
    """Our environment without the variables that point git elsewhere; never a prompt for credentials."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"
    if read_only:
        env.update(GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    return env


def run_git(
    args: list[str],
    cwd: Path | str,
    *,
    check: bool = True,
    ok: tuple[int, ...] = (0,),
    input: bytes | None = None,
    read_only: bool = False,
    timeout: float = GIT_TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` in `cwd`; with `check`, an exit status outside `ok` is a GitError quoting git's last words."""
    import subprocess

    options = ["-c", "core.fsmonitor=false"] if read_only else []
    try:
        result = subprocess.run(
            [git_program(), *options, *args],
            cwd=cwd,
            env=git_environment(read_only=read_only),
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g}s in {cwd}") from None
    except OSError as exc:
        raise GitError(f"cannot run git {args[0]} in {cwd}: {exc.strerror or exc}") from None
    if args[0] in _CHANGING:
        fault_point(f"git {' '.join(args[:2])}")
    if check and result.returncode not in ok:
        raise GitError(f"git {' '.join(args[:2])} failed in {cwd}: {_last_line(result.stderr or result.stdout)}")
    return result


def git_text(args: list[str], cwd: Path | str) -> str:
    """The stripped stdout of a git command that must succeed."""
    return run_git(args, cwd).stdout.decode("utf-8", "replace").strip()


def git_ok(args: list[str], cwd: Path | str) -> str | None:
    """The stripped stdout of a git command, or None when it exits non-zero (a question, not a step)."""
    result = run_git(args, cwd, check=False)
    return result.stdout.decode("utf-8", "replace").strip() if result.returncode == 0 else None


def _last_line(output: bytes) -> str:
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    fatal = [line for line in lines if line.lower().startswith(("fatal:", "error:"))]
    return (fatal or lines or ["no output"])[-1][:300]
