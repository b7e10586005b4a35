"""The scriptable CLI: `kugetsu-tui ls|start|continue|destroy|restore|limit|work|prune|queue`, or the console.

Exit codes: 0 ok, 1 error, 2 at capacity (kugetsu's "retry later", which a queue relies on).
Every failure is one line on stderr; the console (and Textual) is imported only when opened.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from kugetsu_tui.errors import KugetsuError

if TYPE_CHECKING:
    from kugetsu_tui.home import Home
    from kugetsu_tui.overview import Overview

EXIT_OK, EXIT_ERROR, EXIT_AT_CAPACITY = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, but 2 means 'at capacity' here: bad usage is 1."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kugetsu-tui",
        description="Operator console and CLI for kugetsu agent sessions. With no command, opens the console.",
        epilog="exit codes: 0 ok, 1 error, 2 at capacity (retry later)",
    )
    parser.add_argument("--home", help="kugetsu home (default: $KUGETSU_HOME or ~/.kugetsu)")
    parser.add_argument(
        "--demo", action="store_true", help="open the console on a temporary demo home with a simulated agent"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    ls = sub.add_parser("ls", help="list sessions and the active/limit count")
    ls.add_argument("--json", action="store_true", help="machine-readable output")

    start = sub.add_parser("start", help="start a dev session for an issue (capped)")
    start.add_argument("ref", help="HOST/OWNER/REPO#N, OWNER/REPO#N or https://HOST/OWNER/REPO/issues/N")
    start.add_argument("message", help="the first message for the agent")
    start.add_argument("--queue", action="store_true", help="at capacity, queue it instead of refusing (exit 0)")

    cont = sub.add_parser("continue", help="send a message to an existing session (never capped)")
    cont.add_argument("ref", help="issue ref or session name")
    cont.add_argument("message", nargs="?", help="the message (default: 'continue')")

    destroy = sub.add_parser("destroy", help="stop, export, delete and archive a session")
    destroy.add_argument("target", help="issue ref or session name")
    destroy.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    destroy.add_argument("--force", action="store_true", help="destroy even if the transcript export fails")
    destroy.add_argument("--base", action="store_true", help="allow destroying the base session")
    destroy.add_argument("--pm-agent", action="store_true", help="allow destroying the PM agent session")

    restore = sub.add_parser("restore", help="bring an archived session back (capped)")
    restore.add_argument("name", nargs="?", help="session name, issue ref or archive entry")
    restore.add_argument("--list", action="store_true", help="list the archive")

    limit = sub.add_parser("limit", help="show the limit, or set it in config.toml")
    limit.add_argument("value", nargs="?", help="new MAX_CONCURRENT_AGENTS (a whole number >= 1)")

    work = sub.add_parser("work", help="check now whether each dev session's work is merged, closed or open")
    work.add_argument("--json", action="store_true", help="machine-readable output")

    prune = sub.add_parser("prune", help="destroy every dev session whose work is done")
    prune.add_argument(
        "--merged",
        action="store_true",
        required=True,
        help="done means: PR merged or closed, issue closed, or branch merged (checked now)",
    )
    prune.add_argument("--dry-run", action="store_true", help="list what would be destroyed, change nothing")
    prune.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    prune.add_argument("--json", action="store_true", help="machine-readable output")

    from kugetsu_tui.queue.commands import add_queue_parser

    add_queue_parser(sub)
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
    permissions.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from kugetsu_tui.home import Home

        if args.command is None:
            return _open_console(args)
        home = Home.locate(args.home)
        return COMMANDS[args.command](home, args)
    except KugetsuError as exc:
        print(f"kugetsu-tui: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`ls | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"kugetsu-tui: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("kugetsu-tui: interrupted", file=sys.stderr)
        return 130


def _open_console(args: argparse.Namespace) -> int:
    from kugetsu_tui.console.run import run_console

    return run_console(home_override=args.home, demo=args.demo)


def cmd_ls(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.display import printable, since, table_lines
    from kugetsu_tui.overview import overview
    from kugetsu_tui.queue.items import waiting_count

    snapshot = overview(home)
    queued = waiting_count(home)
    if args.json:
        _print_json_rows({**_with_activity(home, snapshot, _with_work(home, snapshot)), "queued": queued}, "sessions")
        return EXIT_OK
    limit = snapshot.limit
    shown = limit.value if limit.value is not None else "invalid"
    print(
        f"active {snapshot.active}/{shown}{f', {queued} queued' if queued else ''}  "
        f"(limit from {printable(limit.source)})"
    )
    if limit.error:
        print(f"warning: {printable(limit.error)}")
    rows = [("KIND", "STATE", "NAME", "ISSUE", "OPENCODE SESSION", "PID", "AGE")]
    for v in snapshot.sessions:
        s = v.session
        rows.append(
            (
                s.kind,
                printable(v.shown_state),
                printable(s.name),
                printable(s.issue_ref),
                printable(s.opencode_session_id),
                str(s.pid or "") + ("" if v.alive or not s.pid else " (gone)"),
                since(s.created_timestamp()),
            )
        )
    print("\n".join(table_lines(rows)))
    for v in snapshot.sessions:
        if v.error:
            print(f"{printable(v.session.name)}: {printable(v.error)}")
    return EXIT_OK


def _print_json_rows(data: dict[str, Any], rows_key: str) -> None:
    """JSON laid out as `indent=2` would, but one row per line: json's C encoder then does the work
    (with `indent`, json falls back to its pure-Python encoder: 0.9 s of `ls --json` at 10,000 sessions)."""
    encode = json.JSONEncoder().encode  # json.dumps' own encoder, without its per-call argument checks
    lines = []
    for number, (key, value) in enumerate(data.items()):
        comma = "," if number < len(data) - 1 else ""
        if key == rows_key and value:
            rows = ",\n".join(f"    {encode(row)}" for row in value)
            lines.append(f"  {encode(key)}: [\n{rows}\n  ]{comma}")
        else:
            lines.append(f"  {encode(key)}: {encode(value)}{comma}")
    sys.stdout.write("{\n" + "\n".join(lines) + "\n}\n")


def _with_work(home: Home, snapshot: Overview) -> dict[str, Any]:
    """`ls --json` plus each dev session's cached work status (no network, no git on this path)."""
    from kugetsu_tui.sessions import KIND_DEV
    from kugetsu_tui.workstatus import read_work, work_for

    data = snapshot.as_json()
    cache = read_work(home)
    for entry, shown in zip(data["sessions"], snapshot.sessions, strict=True):
        if shown.session.kind == KIND_DEV:
            entry["work"] = work_for(cache, shown.session).as_json()
    return data


def _with_activity(home: Home, snapshot: Overview, data: dict[str, Any]) -> dict[str, Any]:
    """`ls --json` plus each session's activity: from the opencode server (asked once) or the agent's log."""
    from kugetsu_tui.config import AgentConfig, load_agent_config
    from kugetsu_tui.opencode.commands import DEFAULT_TEMPLATES
    from kugetsu_tui.session_activity import activities

    try:
        config = load_agent_config(home)
    except KugetsuError:
        config = AgentConfig(dict(DEFAULT_TEMPLATES))  # ls works with a broken config.toml
    found = activities(home, snapshot.sessions, config)
    for entry, shown in zip(data["sessions"], snapshot.sessions, strict=True):
        entry["activity"] = found[shown.session.name].as_json()
    return data


def cmd_start(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.actions import start_session

    if args.queue:
        from kugetsu_tui.queue.commands import cmd_start_or_queue

        return cmd_start_or_queue(home, args)
    launched = start_session(home, args.ref, args.message)
    if launched.warning:
        from kugetsu_tui.display import printable

        print(f"kugetsu-tui: warning: {printable(launched.warning)}", file=sys.stderr)
    sid = launched.opencode_session_id or "pending"
    print(
        f"started {launched.issue_ref} as {launched.name} (opencode session {sid}, "
        f"state {launched.state}, log {launched.log})"
    )
    return EXIT_OK


def cmd_continue(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.actions import continue_session

    launched = continue_session(home, args.ref, args.message)
    print(f"continued {launched.name} (opencode session {launched.opencode_session_id}, log {launched.log})")
    return EXIT_OK


def cmd_destroy(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.actions import find_session
    from kugetsu_tui.archive import destroy_session, destroy_steps
    from kugetsu_tui.config import resolve_limit
    from kugetsu_tui.display import printable
    from kugetsu_tui.overview import view
    from kugetsu_tui.sessions import count_active

    if not args.yes:
        session = find_session(home, args.target)
        if not sys.stdin or not sys.stdin.isatty():
            raise KugetsuError(f"destroy {args.target}: no terminal to confirm on; pass -y to confirm")
        steps = destroy_steps(session, view(session).alive, count_active(home), resolve_limit(home).value)
        print(f"Destroy {printable(session.name)}?")
        for step in steps:
            print(f"  - {step}")
        try:
            answer = input("[y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("cancelled")
            return EXIT_ERROR
    result = destroy_session(home, args.target, allow_base=args.base, allow_pm=args.pm_agent, force=args.force)
    for warning in result.warnings:
        print(f"kugetsu-tui: warning: {warning}", file=sys.stderr)
    print(
        f"destroyed {result.entry.session_name}: archived as {result.entry.path} "
        f"(restore with: kugetsu-tui restore {result.entry.session_name})"
    )
    return EXIT_OK


def cmd_restore(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.archive import list_archive, restore_session
    from kugetsu_tui.display import printable

    if args.list or not args.name:
        entries = list_archive(home)
        if not entries:
            print("the archive is empty")
        for entry in entries:
            print(
                f"{printable(entry.id)}  {printable(entry.meta.get('issue_ref') or entry.session_name)}  "
                f"archived {printable(entry.archived_at)}"
            )
        return EXIT_OK
    session = restore_session(home, args.name)
    print(f"restored {session.name} ({session.path})")
    if session.data.get("error"):
        print(f"kugetsu-tui: warning: {printable(session.data['error'])}", file=sys.stderr)
    return EXIT_OK


def cmd_limit(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.config import LIMIT_ENV, parse_limit_argument, resolve_limit, save_limit

    if args.value is None:
        limit = resolve_limit(home)
        if limit.value is None:
            raise KugetsuError(limit.error or "invalid limit")
        print(f"{limit.value} (from {limit.source})")
        return EXIT_OK
    value = parse_limit_argument(args.value)
    save_limit(home, value)
    print(f"limit set to {value} in {home.config_toml}")
    if os.environ.get(LIMIT_ENV, ""):
        print(f"kugetsu-tui: warning: {LIMIT_ENV} is set in the environment and overrides config.toml", file=sys.stderr)
    return EXIT_OK


def cmd_work(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.workcli import print_work
    from kugetsu_tui.workstatus import check_work

    return print_work(check_work(home), as_json=args.json)


def cmd_prune(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.workcli import run_prune

    return run_prune(home, dry_run=args.dry_run, yes=args.yes, as_json=args.json)


def cmd_permissions(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.permissions_cli import cmd_permissions as run_permissions_command

    return run_permissions_command(home, args)


def cmd_queue(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.queue.commands import cmd_queue as run_queue_command

    return run_queue_command(home, args)


COMMANDS = {
    "ls": cmd_ls,
    "start": cmd_start,
    "continue": cmd_continue,
    "destroy": cmd_destroy,
    "restore": cmd_restore,
    "limit": cmd_limit,
    "work": cmd_work,
    "prune": cmd_prune,
    "queue": cmd_queue,
    "permissions": cmd_permissions,
}
