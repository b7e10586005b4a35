"""Each session's activity from the best source there is: the opencode server when one is configured,
else (and for agents the server does not run) the agent's own output.

The server is asked once, with a short timeout; a server that cannot be asked makes every answer
`unknown` with the reason, never an error: listing sessions must work while the server is down.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.directories import server_directory
from kugetsu_tui.opencode.log_activity import log_activity, present_logs
from kugetsu_tui.opencode.settings import AgentConfig
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.overview import SessionView
from kugetsu_tui.sessions.states import State

SERVER_TIMEOUT = 2.0


def server_directories(home: Home, views: Iterable[SessionView], config: AgentConfig) -> list[str | None]:
    """Every directory to ask the server about: each session's, then the server's own (None).

    The sessions' come first: an ask seen in both is answered in its session's directory."""
    return [
        *dict.fromkeys(server_directory(home, v.session.data, config) for v in views if v.session.opencode_session_id),
        None,
    ]


def activities(
    home: Home, views: list[SessionView], config: AgentConfig, timeout: float = SERVER_TIMEOUT
) -> dict[str, ActivityInfo]:
    """Each session's activity by session name."""
    now = time.time()
    present = present_logs(home)
    local = {v.session.name: log_activity(home, v, config.stall_after, now, present) for v in views}
    if config.server is None:
        return local
    from kugetsu_tui.opencode.server import OpencodeServer, ServerUnavailable
    from kugetsu_tui.opencode.server_activity import snapshot

    try:
        snap = snapshot(OpencodeServer(config.server, timeout), server_directories(home, views, config))
    except ServerUnavailable as exc:
        return {v.session.name: ActivityInfo(Activity.UNKNOWN, str(exc)) for v in views}
    return {
        v.session.name: combine(
            v,
            snap.activity(v.session.opencode_session_id) if v.session.opencode_session_id else None,
            local[v.session.name],
        )
        for v in views
    }


def combine(view: SessionView, told: ActivityInfo | None, local: ActivityInfo) -> ActivityInfo:
    """The server's word (`told`) unless it cannot know better than the session's own agent and log.

    The server does not run an agent of ours launched with `opencode run` (it calls that session idle
    while our process works), and a failed agent's reason is in our file, not in the server. A busy
    the process evidence contradicts (`busy_contradicted`) is stale: the agent's own word wins.
    """
    if told is None or (
        told.state == Activity.IDLE and view.shown_state in (State.RUNNING, State.STARTING, State.FAILED)
    ):
        return local
    if busy_contradicted(view, told):
        why = f"opencode's server still says {told.state}, but its agent (pid {view.session.pid}) has exited"
        return local._replace(detail=f"{local.detail}; {why}" if local.detail else why)
    return told


def busy_contradicted(view: SessionView, told: ActivityInfo) -> bool:
    """The server says the session works, but the agent of ours that ran it has exited and its end is
    recorded: a busy left behind (opencode #35472, or an event lost with a dead stream)."""
    return (
        told.state in (Activity.BUSY, Activity.RETRY)
        and bool(view.session.pid)
        and not view.alive
        and view.shown_state not in (State.RUNNING, State.STARTING)
    )
