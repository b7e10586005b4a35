"""Asking the operator on the terminal before a destructive command, the same way for every command."""

from __future__ import annotations

import sys
from typing import TextIO

from kugetsu_tui.base.errors import KugetsuError


def require_terminal(what: str, instead: str = "pass -y to confirm") -> None:
    """Refuse before any work when there is no terminal to ask on (a script, a pipe, CI)."""
    if not sys.stdin or not sys.stdin.isatty():
        raise KugetsuError(f"{what}: no terminal to confirm on; {instead}")


def confirmed(question: str, talk: TextIO | None = None) -> bool:
    """Ask `question [y/N]` on `talk` (stdout by default) and read one line: only y or yes is a yes."""
    out = talk or sys.stdout
    out.write(f"{question} [y/N] ".lstrip())
    out.flush()
    try:
        answer = sys.stdin.readline()
    except (EOFError, OSError):
        answer = ""
    if not answer.endswith("\n"):
        print(file=out)
    return answer.strip().lower() in ("y", "yes")
