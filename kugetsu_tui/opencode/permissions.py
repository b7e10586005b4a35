"""The permission asks pending in the opencode server, across the sessions' directories, and answering one.

Only a server can hold an ask open: `opencode run` answers every ask itself, with reject.
"""

from __future__ import annotations

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.activity import server_directories
from kugetsu_tui.opencode.server import NotFound, OpencodeServer, Permission, PermissionReply, Question
from kugetsu_tui.opencode.settings import load_agent_config
from kugetsu_tui.opencode.version import server_problem
from kugetsu_tui.sessions.overview import overview

#: Seconds per request: more than ls's 2 s, since the first request for a directory starts its instance in the server.
TIMEOUT = 15.0


def pending_asks(home: Home) -> tuple[OpencodeServer, dict[str, str], list[Permission], list[Question]]:
    """The server, session names by opencode id, and every pending ask in the sessions' directories."""
    config = load_agent_config(home)
    if config.server is None:
        raise KugetsuError(
            "no opencode server configured: set [agent] server in config.toml "
            '(e.g. "http://127.0.0.1:4096"; see docs/opencode-server.md)'
        )
    server = OpencodeServer(config.server, TIMEOUT)
    problem = server_problem(server)
    if problem:
        raise KugetsuError(problem)
    views = overview(home).sessions
    names = {v.session.opencode_session_id: v.session.name for v in views if v.session.opencode_session_id}
    permissions: dict[str, Permission] = {}
    questions: dict[str, Question] = {}
    for directory in server_directories(home, views, config):
        for permission in server.permissions(directory):
            permissions.setdefault(permission.id, permission)
        for question in server.questions(directory):
            questions.setdefault(question.id, question)
    return server, names, list(permissions.values()), list(questions.values())


def answer_permission(home: Home, request_id: str, answer: PermissionReply) -> tuple[Permission, str | None]:
    """Answer one pending ask in its own directory; returns it and its session's name."""
    server, names, permissions, _ = pending_asks(home)
    ask = next((p for p in permissions if p.id == request_id), None)
    if ask is None:
        raise KugetsuError(f"no pending permission {request_id!r} (see: kugetsu-tui permissions)")
    try:
        server.reply_permission(ask.id, answer, ask.directory)
    except NotFound:
        raise KugetsuError(f"permission {request_id!r} was answered or withdrawn meanwhile") from None
    return ask, names.get(ask.session_id)
