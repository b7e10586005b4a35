"""The review commands: `attach` (take a session over in opencode's TUI) and `diff` (its worktree's work)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kugetsu_tui.base.errors import ExitCode, KugetsuError

if TYPE_CHECKING:
    import argparse

    from kugetsu_tui.base.home import Home
    from kugetsu_tui.worktrees.diff import FileChange, WorktreeDiff


def add_parsers(sub: Any) -> None:
    attach = sub.add_parser("attach", help="take a session over in opencode's own TUI (quit it to come back)")
    attach.set_defaults(run=cmd_attach)
    attach.add_argument("target", help="issue ref or session name (base and pm-agent too, after a confirmation)")
    attach.add_argument("-y", "--yes", action="store_true", help="do not ask before taking over base or PM")

    diff = sub.add_parser("diff", help="a session's worktree against its base: committed, uncommitted, untracked")
    diff.set_defaults(run=cmd_diff)
    diff.add_argument("target", help="issue ref or session name")
    shape = diff.add_mutually_exclusive_group()
    shape.add_argument("--stat", action="store_true", help="per file +/- counts and status, no patches")
    shape.add_argument("--name-only", action="store_true", help="the changed paths, one a line")


def cmd_attach(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.cli.confirm import confirmed, require_terminal
    from kugetsu_tui.lifecycle.archive import special_kind
    from kugetsu_tui.lifecycle.take_over import prepare, run

    prepared = prepare(home, args.target)  # why it cannot be taken over says more than "no terminal"
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise KugetsuError(f"attach {args.target}: opencode's TUI needs a terminal on stdin and stdout")
    special = special_kind(prepared.session)
    if special is not None and not args.yes:
        require_terminal(f"attach {args.target}", "pass --yes to take it over")
        if not confirmed(f"Take over {special} in opencode's TUI?"):
            print("cancelled")
            return ExitCode.ERROR
    print(f"taking over {printable(prepared.session.name)}: {prepared.plan.how_to_return()}", flush=True)
    status, changed = run(home, prepared)
    print(printable(changed))
    if status:
        print(f"kugetsu-tui: opencode exited with status {status}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK


def cmd_diff(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import counted, printable
    from kugetsu_tui.lifecycle.start import find_session
    from kugetsu_tui.worktrees.diff import Section, read_diff, worktree_record

    session = find_session(home, args.target)
    if session.corrupt:
        raise KugetsuError(f"cannot diff {session.name}: its file is unusable ({session.error})")
    try:
        record = worktree_record(dict(session.data))
    except KugetsuError as exc:
        raise KugetsuError(f"cannot diff {session.name}: {exc}") from None
    diff = read_diff(record)
    if args.name_only:
        for path in dict.fromkeys(change.path for change in diff.files):
            print(printable(path))
        return ExitCode.OK
    print(f"{printable(session.name)}: {printable(diff.describe_base())}; {diff.totals().describe()}")
    for section in Section:
        changes = diff.section(section)
        if not changes:
            continue
        print(f"\n{section} ({counted(len(changes), 'file')}):")
        for change in changes:
            if args.stat:
                print(_stat_line(change))
            else:
                _print_patch(diff, change)
    return ExitCode.OK


def _stat_line(change: FileChange) -> str:
    from kugetsu_tui.base.text import printable

    counts = "binary" if change.binary else f"+{change.additions} -{change.deletions}"
    moved = f"{printable(change.old_path)} => " if change.old_path else ""
    return f"  {counts:>14}  {change.status:<8}  {moved}{printable(change.path)}"


def _print_patch(diff: WorktreeDiff, change: FileChange) -> None:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.worktrees.diff import load_patch, patch_line

    patch = load_patch(diff, change, limit=False)
    if patch.summary:
        print(f"{printable(change.path)}: {patch.summary}")
    for line in patch.lines:
        print(patch_line(line))
