"""Freeing the opencode server's instance of a directory no session works in any more.

`opencode serve` keeps one instance per directory it was asked about (its watchers, LSP and MCP
children) and never frees one by itself: every destroyed worktree left one behind, and the
server's memory grew without bound. `POST /instance/dispose` frees it (the sessions' history
stays; a later request for the directory starts it again). Destroy calls this once its worktree
is gone from use; parking a session can call it the same way.
"""

from __future__ import annotations

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.opencode.settings import AgentConfig

#: Seconds: disposing shuts the instance's children down, which takes longer than a status read.
DISPOSE_TIMEOUT = 10.0


def dispose_instance(config: AgentConfig, directory: str) -> str | None:
    """Ask `[agent] server` to free its instance of `directory`: a warning line when that fails, else None.

    Nothing is asked without a server: `opencode run` keeps no instance after it exits."""
    if not config.server:
        return None
    from kugetsu_tui.opencode.server import OpencodeServer

    try:
        OpencodeServer(config.server, DISPOSE_TIMEOUT).dispose(directory)
    except KugetsuError as exc:  # ServerUnavailable included: the destroy itself is done
        return f"the opencode server's instance of {directory} was not freed: {exc}"
    return None
