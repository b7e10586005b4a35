"""The work commands: `work` (is each session's work finished?) and `prune --merged` (clean up what is)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from kugetsu_tui.base.errors import ExitCode
from kugetsu_tui.base.text import printable, table_lines
from kugetsu_tui.cli.confirm import confirmed, require_terminal

if TYPE_CHECKING:
    from kugetsu_tui.base.home import Home
    from kugetsu_tui.lifecycle.archive import Destroyed
    from kugetsu_tui.lifecycle.prune import Finished, PrunePlan, PruneResult, Skipped
    from kugetsu_tui.sessions.files import Session
    from kugetsu_tui.work.status import WorkStatus


def add_parsers(sub: Any) -> None:
    """`work` and `prune`, on the main parser's subparsers."""
    work = sub.add_parser("work", help="check now whether each dev session's work is merged, closed or open")
    work.set_defaults(run=cmd_work)
    work.add_argument("--json", action="store_true", help="machine-readable output")

    prune = sub.add_parser("prune", help="destroy every dev session whose work is done")
    prune.set_defaults(run=cmd_prune)
    prune.add_argument(
        "--merged",
        action="store_true",
        required=True,
        help="done means: PR merged or closed, issue closed, or branch merged (checked now)",
    )
    prune.add_argument("--dry-run", action="store_true", help="list what would be destroyed, change nothing")
    prune.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    prune.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_work(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.work.status import check_work

    return print_work(check_work(home), as_json=args.json)


def cmd_prune(home: Home, args: argparse.Namespace) -> int:
    return run_prune(home, dry_run=args.dry_run, yes=args.yes, as_json=args.json)


def print_work(results: list[tuple[Session, WorkStatus]], *, as_json: bool) -> int:
    if as_json:
        _dump({"sessions": [_session_json(s, w) for s, w in results]})
        return ExitCode.OK
    if not results:
        print("no dev sessions")
        return ExitCode.OK
    rows = [("NAME", "WORK", "SOURCE", "DETAIL", "URL")]
    rows += [
        (printable(s.name), w.state, w.source or "-", printable(w.detail), printable(w.url or "")) for s, w in results
    ]
    print("\n".join(table_lines(rows)))
    return ExitCode.OK


def run_prune(home: Home, *, dry_run: bool, yes: bool, as_json: bool) -> int:
    """Check now, then destroy every done session (after one confirmation unless `yes`)."""
    from kugetsu_tui.lifecycle.prune import plan_prune, prune

    if not (dry_run or yes):
        require_terminal("prune --merged", "pass -y to confirm (or --dry-run to look)")
    plan = plan_prune(home)
    talk = sys.stderr if as_json else sys.stdout  # JSON output stays pure
    if dry_run or not plan.done:
        if not as_json:
            _report_plan(plan, dry_run)
        else:
            _dump(_result_json(plan, None, dry_run))
        return ExitCode.OK
    if not yes and not _confirmed(plan, talk):
        print("cancelled", file=talk)
        return ExitCode.ERROR
    result = prune(home, plan, on_destroyed=None if as_json else _say_destroyed)
    if as_json:
        _dump(_result_json(plan, result, False))
    else:
        for skipped in result.skipped:
            print(f"skipped {_who(skipped.finished)}: {printable(skipped.reason)}")
    for _, destroyed in result.destroyed:
        for warning in destroyed.warnings:
            print(f"kugetsu-tui: warning: {printable(warning)}", file=sys.stderr)
    if result.error:
        print(f"kugetsu-tui: {printable(result.error)}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK


def _report_plan(plan: PrunePlan, dry_run: bool) -> None:
    if not plan.done:
        print(
            "nothing to prune: no dev session is done"
            if not plan.skipped
            else "nothing to prune now: every done session's agent is still running"
        )
    for finished in plan.done:
        print(f"would destroy {_why(finished)}")
    for skipped in plan.skipped:
        print(f"skipped {_who(skipped.finished)}: {printable(skipped.reason)}")
    if dry_run and plan.done:
        print("(dry run: nothing was changed)")


def _confirmed(plan: PrunePlan, talk: TextIO) -> bool:
    for finished in plan.done:
        print(f"  {_why(finished)}", file=talk)
    for skipped in plan.skipped:
        print(f"  (skipped {_who(skipped.finished)}: {printable(skipped.reason)})", file=talk)
    count = len(plan.done)
    return confirmed(
        f"Destroy {'this session' if count == 1 else f'these {count} sessions'}? Each agent is stopped, "
        "its transcript saved and the session archived (restorable).",
        talk,
    )


def _say_destroyed(finished: Finished, destroyed: Destroyed) -> None:
    print(f"destroyed {_who(finished)}: {printable(finished.work.detail)}; archived as {destroyed.entry.path}")


def _who(finished: Finished) -> str:
    ref = finished.session.issue_ref
    return printable(finished.session.name) + (f" ({printable(ref)})" if ref else "")


def _why(finished: Finished) -> str:
    url = f" {printable(finished.work.url)}" if finished.work.url else ""
    return f"{_who(finished)}: {printable(finished.work.detail)} [{finished.work.source}]{url}"


def _session_json(session: Session, work: WorkStatus) -> dict[str, Any]:
    return {"name": session.name, "issue_ref": session.issue_ref, "work": work.as_json()}


def _result_json(plan: PrunePlan, result: PruneResult | None, dry_run: bool) -> dict[str, Any]:
    skipped: list[Skipped] = result.skipped if result else plan.skipped
    return {
        "dry_run": dry_run,
        "done": [_session_json(f.session, f.work) for f in plan.done],
        "destroyed": [
            {**_session_json(f.session, f.work), "archive": str(d.entry.path), "warnings": d.warnings}
            for f, d in (result.destroyed if result else [])
        ],
        "skipped": [{**_session_json(s.finished.session, s.finished.work), "reason": s.reason} for s in skipped],
        "error": result.error if result else None,
    }


def _dump(data: dict[str, Any]) -> None:
    from kugetsu_tui.base.text import undecodable_as_text

    print(undecodable_as_text(json.dumps(data, indent=2)))
