"""`kugetsu-tui permissions`: list the asks pending in the opencode server, and answer one.

Only a server can hold an ask open: `opencode run` answers every ask itself, with reject.
"""

from __future__ import annotations

import argparse
import json
import sys

from kugetsu_tui.config import load_agent_config
from kugetsu_tui.display import printable, table_lines
from kugetsu_tui.errors import KugetsuError
from kugetsu_tui.home import Home
from kugetsu_tui.opencode.server import NotFound, OpencodeServer, Permission, PermissionReply, Question
from kugetsu_tui.overview import overview
from kugetsu_tui.session_activity import server_directories

#: Seconds per request: more than ls's 2 s, since the first request for a directory starts its instance in the server.
TIMEOUT = 15.0
#: The words of the command line and the reply each sends.
ANSWERS = {"allow": PermissionReply.ONCE, "always": PermissionReply.ALWAYS, "reject": PermissionReply.REJECT}


def pending_asks(home: Home) -> tuple[OpencodeServer, dict[str, str], list[Permission], list[Question]]:
    """The server, session names by opencode id, and every pending ask in the sessions' directories."""
    config = load_agent_config(home)
    if config.server is None:
        raise KugetsuError(
            "no opencode server configured: set [agent] server in config.toml "
            '(e.g. "http://127.0.0.1:4096"; see README, Activity and the opencode server)'
        )
    server = OpencodeServer(config.server, TIMEOUT)
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


def cmd_permissions(home: Home, args: argparse.Namespace) -> int:
    if args.answer is not None:
        if not args.id:
            raise KugetsuError(f"permissions {args.answer}: which one? give its id (see: kugetsu-tui permissions)")
        ask, name = answer_permission(home, args.id, ANSWERS[args.answer])
        print(
            f"{args.answer}: {printable(ask.id)} ({printable(ask.describe())}) for {printable(name or ask.session_id)}"
        )
        return 0
    _, names, permissions, questions = pending_asks(home)
    if args.json:
        json.dump(
            {
                "permissions": [{**p.as_json(), "session": names.get(p.session_id)} for p in permissions],
                "questions": [
                    {
                        "id": q.id,
                        "session_id": q.session_id,
                        "session": names.get(q.session_id),
                        "question": q.text,
                        "directory": q.directory,
                    }
                    for q in questions
                ],
            },
            sys.stdout,
            indent=2,
        )
        print()
        return 0
    if not permissions and not questions:
        print("no pending permission asks or questions")
        return 0
    rows = [("ID", "SESSION", "ASKS")]
    rows += [
        (printable(p.id), printable(names.get(p.session_id) or p.session_id), printable(p.describe()))
        for p in permissions
    ]
    rows += [
        (printable(q.id), printable(names.get(q.session_id) or q.session_id), printable(f"question: {q.text}"))
        for q in questions
    ]
    print("\n".join(table_lines(rows)))
    return 0
