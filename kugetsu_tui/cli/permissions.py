"""`kugetsu-tui permissions`: list the asks pending in the opencode server, and answer one.

The asks themselves come from opencode/permissions.py; this module only parses and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from kugetsu_tui.base.errors import ExitCode, KugetsuError
from kugetsu_tui.base.text import printable, table_lines

if TYPE_CHECKING:
    from kugetsu_tui.base.home import Home

#: The words of the command line, by the name of the reply each sends (opencode.server.PermissionReply).
ANSWERS = {"allow": "ONCE", "always": "ALWAYS", "reject": "REJECT"}


def add_parsers(sub: Any) -> None:
    """`permissions`, on the main parser's subparsers."""
    permissions = sub.add_parser(
        "permissions", help="list the permission asks pending in the opencode server, or answer one"
    )
    permissions.add_argument(
        "answer",
        nargs="?",
        choices=["allow", "always", "reject"],
        help="allow (once), always (allow from now on) or reject",
    )
    permissions.add_argument("id", nargs="?", help="the ask's id (per_…), from the list")
    permissions.set_defaults(run=cmd_permissions)
    permissions.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_permissions(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.opencode.permissions import answer_permission, pending_asks
    from kugetsu_tui.opencode.server import PermissionReply

    if args.answer is not None:
        if not args.id:
            raise KugetsuError(f"permissions {args.answer}: which one? give its id (see: kugetsu-tui permissions)")
        ask, name = answer_permission(home, args.id, PermissionReply[ANSWERS[args.answer]])
        print(
            f"{args.answer}: {printable(ask.id)} ({printable(ask.describe())}) for {printable(name or ask.session_id)}"
        )
        return ExitCode.OK
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
        return ExitCode.OK
    if not permissions and not questions:
        print("no pending permission asks or questions")
        return ExitCode.OK
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
    return ExitCode.OK
