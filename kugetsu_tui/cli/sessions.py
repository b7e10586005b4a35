"""The session commands: `ls`, `start`, `continue`, `park`, `resume`, `destroy`, `restore` and `limit`.

Each command imports what it needs when it runs, so `ls` and a refused start load only their own path.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from kugetsu_tui.base.errors import ExitCode, KugetsuError

if TYPE_CHECKING:
    import argparse

    from kugetsu_tui.base.home import Home
    from kugetsu_tui.opencode.settings import AgentConfig
    from kugetsu_tui.opencode.usage import Usage
    from kugetsu_tui.sessions.overview import Overview


def add_parsers(sub: Any) -> None:
    """The session commands, on the main parser's subparsers."""
    ls = sub.add_parser(
        "ls",
        help="list sessions and the active/limit count",
        description="List sessions and the active/limit count. A home that does not exist is one line on "
        "stderr and exit 1 (with --json, its empty listing is printed all the same).",
    )
    ls.set_defaults(run=cmd_ls, lists=True)
    ls.add_argument(
        "--json",
        action="store_true",
        help="machine-readable output (on a home that does not exist: the empty listing, and exit 1)",
    )

    start = sub.add_parser(
        "start",
        help="start a dev session for an issue (capped)",
        description="Start a dev session for an issue (capped): at capacity it exits 2 (retry later), or "
        "with --queue queues the work instead.",
    )
    start.set_defaults(run=cmd_start)
    start.add_argument("ref", help="HOST/OWNER/REPO#N, OWNER/REPO#N or https://HOST/OWNER/REPO/issues/N")
    start.add_argument("message", help="the first message for the agent")
    start.add_argument("--queue", action="store_true", help="at capacity, queue it instead of refusing (exit 0)")

    cont = sub.add_parser(
        "continue",
        help="send a message to an existing session (never capped; a parked one is resumed under the cap)",
    )
    cont.set_defaults(run=cmd_continue)
    cont.add_argument("ref", help="issue ref or session name")
    cont.add_argument("message", nargs="?", help="the message (default: 'continue')")
    cont.add_argument(
        "--queue", action="store_true", help="a parked session at capacity: queue its resume instead of refusing"
    )

    park = sub.add_parser(
        "park",
        help="free a dev session's slot, keeping its worktree, branch and opencode session",
        description="Free a dev session's slot: its file moves to parked/, its worktree, branch and opencode "
        "session stay. Refused for the base and PM sessions, a running agent, one waiting for an answer, and "
        "one with a prompt waiting in the queue. `continue` or `resume` brings it back under the cap.",
    )
    park.set_defaults(run=cmd_park)
    park.add_argument("target", nargs="?", help="issue ref or session name")
    park.add_argument(
        "--idle-over", metavar="DURATION", help="park every idle dev session unused for longer (2h, 30m, 90s)"
    )

    resume = sub.add_parser("resume", help="bring a parked session back under the cap, sending nothing (capped)")
    resume.set_defaults(run=cmd_resume)
    resume.add_argument("target", help="issue ref or session name")

    destroy = sub.add_parser("destroy", help="stop, export, delete and archive a session")
    destroy.set_defaults(run=cmd_destroy)
    destroy.add_argument("target", help="issue ref or session name")
    destroy.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    destroy.add_argument("--force", action="store_true", help="destroy even if the transcript export fails")
    destroy.add_argument("--base", action="store_true", help="allow destroying the base session")
    destroy.add_argument("--pm-agent", action="store_true", help="allow destroying the PM agent session")

    restore = sub.add_parser("restore", help="bring an archived session back (capped)")
    restore.set_defaults(run=cmd_restore)
    restore.add_argument("name", nargs="?", help="session name, issue ref or archive entry")
    restore.add_argument("--list", action="store_true", help="list the archive")

    recover = sub.add_parser("recover", help="finish or roll back destroys, restores and starts that were interrupted")
    recover.set_defaults(run=cmd_recover)
    recover.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")

    limit = sub.add_parser("limit", help="show the limit, or set it in config.toml")
    limit.set_defaults(run=cmd_limit, creates_home=_sets_a_value)
    limit.add_argument("value", nargs="?", help="new MAX_CONCURRENT_AGENTS (a whole number >= 1)")


def cmd_ls(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable, since, table_lines
    from kugetsu_tui.queue.items import waiting_count
    from kugetsu_tui.sessions.overview import overview

    snapshot = overview(home)
    queued = waiting_count(home)
    parked = snapshot.parked
    if args.json:
        data = _with_activity(home, snapshot, _with_work(home, snapshot))
        _print_json_rows({**data, "queued": queued, "parked": parked}, "sessions")
        return ExitCode.OK
    limit = snapshot.limit
    shown = limit.value if limit.value is not None else "invalid"
    print(
        f"active {snapshot.active}/{shown}{f', {queued} queued' if queued else ''}"
        f"{f', {parked} parked' if parked else ''}  (limit from {printable(limit.source)})"
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
    return ExitCode.OK


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
    from kugetsu_tui.base.text import undecodable_as_text

    sys.stdout.write(undecodable_as_text("{\n" + "\n".join(lines) + "\n}\n"))


def _with_work(home: Home, snapshot: Overview) -> dict[str, Any]:
    """`ls --json` plus each dev session's cached work status (no network, no git on this path)."""
    from kugetsu_tui.sessions.files import KIND_DEV
    from kugetsu_tui.work.status import read_work, work_for

    data = snapshot.as_json()
    cache = read_work(home)
    for entry, shown in zip(data["sessions"], snapshot.sessions, strict=True):
        if shown.session.kind == KIND_DEV:
            entry["work"] = work_for(cache, shown.session).as_json()
    return data


def _with_activity(home: Home, snapshot: Overview, data: dict[str, Any]) -> dict[str, Any]:
    """`ls --json` plus each session's activity: from the opencode server (asked once) or the agent's log."""
    from kugetsu_tui.opencode.activity import activities
    from kugetsu_tui.opencode.commands import DEFAULT_TEMPLATES
    from kugetsu_tui.opencode.settings import load_agent_config

    try:
        config = load_agent_config(home)
    except KugetsuError:
        from kugetsu_tui.opencode.settings import AgentConfig

        config = AgentConfig(dict(DEFAULT_TEMPLATES))  # ls works with a broken config.toml
    found = activities(home, snapshot.sessions, config)
    counted = _usage(home, snapshot, config)
    for entry, shown in zip(data["sessions"], snapshot.sessions, strict=True):
        entry["activity"] = found[shown.session.name].as_json()
        sid = shown.session.opencode_session_id
        usage = counted.get(sid) if sid else None
        entry["usage"] = usage.as_json() if usage is not None else None
    return data


def _usage(home: Home, snapshot: Overview, config: AgentConfig) -> dict[str, Usage]:
    """Tokens and cost by opencode id, from the server when one is configured (nothing known otherwise)."""
    if config.server is None:
        return {}
    from kugetsu_tui.opencode.activity import SERVER_TIMEOUT, server_directories
    from kugetsu_tui.opencode.server import OpencodeServer, ServerUnavailable
    from kugetsu_tui.opencode.usage import usages

    try:
        return usages(
            OpencodeServer(config.server, SERVER_TIMEOUT), server_directories(home, snapshot.sessions, config)
        )
    except ServerUnavailable:
        return {}  # the activity says the server is down


def cmd_start(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.lifecycle.start import start_session

    if args.queue:
        from kugetsu_tui.cli.queue import cmd_start_or_queue

        return cmd_start_or_queue(home, args)
    launched = start_session(home, args.ref, args.message)
    if launched.warning:
        from kugetsu_tui.base.text import printable

        print(f"kugetsu-tui: warning: {printable(launched.warning)}", file=sys.stderr)
    sid = launched.opencode_session_id or "pending"
    print(
        f"started {launched.issue_ref} as {launched.name} (opencode session {sid}, "
        f"state {launched.state}, log {launched.log})"
    )
    return ExitCode.OK


def refuse_pull_request(target: str) -> None:
    """A PR URL given for a session: say so, rather than "no session 'https://…/pull/12'"."""
    from kugetsu_tui.base.refs import pull_request_problem

    problem = pull_request_problem(target)
    if problem:
        raise KugetsuError(problem)


def cmd_continue(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.lifecycle.start import continue_session

    refuse_pull_request(args.ref)
    if args.queue:
        from kugetsu_tui.lifecycle.park import find_parked

        if find_parked(home, args.ref) is not None:
            return _resume_or_queue(home, args)
    launched = continue_session(home, args.ref, args.message)

    print(
        f"continued {printable(launched.name)} (opencode session {launched.opencode_session_id}, "
        f"log {printable(launched.log)})"
    )
    return ExitCode.OK


def _resume_or_queue(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.queue.manage import Queued
    from kugetsu_tui.queue.parking import resume_or_queue

    outcome = resume_or_queue(home, args.ref, args.message)
    if isinstance(outcome, Queued):
        from kugetsu_tui.cli.queue import print_queued

        print_queued(outcome.item, outcome.position, "at capacity: ")
        return ExitCode.OK
    launched = outcome.launched
    assert launched is not None  # resume_or_queue always sends a message
    print(
        f"resumed {printable(launched.name)} and continued it (opencode session {launched.opencode_session_id}, "
        f"log {printable(launched.log)})"
    )
    return ExitCode.OK


def cmd_park(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable

    if (args.target is None) == (args.idle_over is None):
        raise KugetsuError("park takes a session (issue ref or name) or --idle-over DURATION, not both")
    if args.idle_over is not None:
        from kugetsu_tui.base.durations import parse_duration
        from kugetsu_tui.queue.parking import describe, park_idle

        outcomes = park_idle(home, parse_duration(args.idle_over, "--idle-over"))
        for outcome in outcomes:
            print(describe(outcome), file=sys.stderr if outcome.refused else sys.stdout)
        print(f"{sum(1 for o in outcomes if o.refused is None)} parked")
        return ExitCode.OK
    refuse_pull_request(args.target)
    from kugetsu_tui.queue.parking import park

    session, warnings = park(home, args.target)
    for warning in warnings:
        print(f"kugetsu-tui: warning: {printable(warning)}", file=sys.stderr)
    print(
        f"parked {printable(session.name)}: its slot is free; its worktree, branch and opencode session are kept "
        f"(kugetsu-tui resume {printable(session.name)}, or continue it, brings it back)"
    )
    return ExitCode.OK


def cmd_resume(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.lifecycle.park import resume_session

    refuse_pull_request(args.target)
    session = resume_session(home, args.target).session
    print(f"resumed {printable(session.name)} ({printable(session.path)}): it holds a slot again, nothing was sent")
    return ExitCode.OK


def cmd_destroy(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.cli.confirm import confirmed, require_terminal
    from kugetsu_tui.lifecycle.archive import destroy_session, destroy_steps
    from kugetsu_tui.lifecycle.start import find_session
    from kugetsu_tui.sessions.files import count_active
    from kugetsu_tui.sessions.limit import resolve_limit
    from kugetsu_tui.sessions.overview import view

    refuse_pull_request(args.target)
    if not args.yes:
        session = find_session(home, args.target, parked=True)
        require_terminal(f"destroy {args.target}")
        from kugetsu_tui.worktrees.diff import diff_size

        diff = None if session.corrupt else diff_size(session.data, max_age=0)
        steps = destroy_steps(session, view(session).alive, count_active(home), resolve_limit(home).value, diff)
        print(f"Destroy {printable(session.name)}?")
        for step in steps:
            print(f"  - {step}")
        if not confirmed(""):
            print("cancelled")
            return ExitCode.ERROR
    result = destroy_session(home, args.target, allow_base=args.base, allow_pm=args.pm_agent, force=args.force)
    for warning in result.warnings:
        print(f"kugetsu-tui: warning: {printable(warning)}", file=sys.stderr)
    name = printable(result.entry.session_name)
    print(f"destroyed {name}: archived as {printable(result.entry.path)} (restore with: kugetsu-tui restore {name})")
    return ExitCode.OK


def cmd_restore(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.lifecycle.archive import list_archive, restore_session

    if args.list or not args.name:
        entries = list_archive(home)
        if not entries:
            print("the archive is empty")
        for entry in entries:
            missing = entry.missing()
            incomplete = (
                f"  INCOMPLETE: holds {', '.join(entry.holds())}; lacks {', '.join(missing)}" if missing else ""
            )
            print(
                f"{printable(entry.id)}  {printable(entry.meta.get('issue_ref') or entry.session_name)}  "
                f"archived {printable(entry.archived_at or '?')}{printable(incomplete)}"
            )
        return ExitCode.OK
    refuse_pull_request(args.name)
    session = restore_session(home, args.name)
    print(f"restored {printable(session.name)} ({printable(session.path)})")
    if session.data.get("error"):
        print(f"kugetsu-tui: warning: {printable(session.data['error'])}", file=sys.stderr)
    return ExitCode.OK


def cmd_recover(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.lifecycle.recover import recover_all

    lines = recover_all(home, dry_run=args.dry_run)
    for line in lines or ["nothing to recover"]:
        print(printable(line))
    failed = [line for line in lines if ": could not recover: " in line]
    return ExitCode.ERROR if failed else ExitCode.OK


def _sets_a_value(args: argparse.Namespace) -> bool:
    """`limit N` writes config.toml and creates the home for it; `limit` alone reads."""
    return args.value is not None


def cmd_limit(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.sessions.limit import LIMIT_ENV, parse_limit_argument, resolve_limit, save_limit

    if args.value is None:
        limit = resolve_limit(home)
        if limit.value is None:
            raise KugetsuError(limit.error or "invalid limit")
        print(f"{limit.value} (from {limit.source})")
        return ExitCode.OK
    value = parse_limit_argument(args.value)
    save_limit(home, value)
    print(f"limit set to {value} in {home.config_toml}")
    if os.environ.get(LIMIT_ENV, ""):
        print(f"kugetsu-tui: warning: {LIMIT_ENV} is set in the environment and overrides config.toml", file=sys.stderr)
    return ExitCode.OK
