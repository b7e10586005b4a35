"""Running git: argv lists, never a shell, and one clear line when a command fails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from kugetsu_tui.base.errors import KugetsuError

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
)
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


def run_git(args: list[str], cwd: Path | str, *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` in `cwd`; with `check`, a non-zero exit is a GitError quoting git's last words."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        result = subprocess.run(
            [git_program(), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=GIT_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {GIT_TIMEOUT:.0f}s in {cwd}") from None
    except OSError as exc:
        raise GitError(f"cannot run git {args[0]} in {cwd}: {exc.strerror or exc}") from None
    if check and result.returncode != 0:
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
