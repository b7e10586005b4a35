"""The queue's CLI: `queue add|ls|rm|front|drain [--watch]` and `start --queue`.

Only argparse is imported here at start-up; the queue's modules (and asyncio, for --watch) load when a
command runs. Exit codes as everywhere (base/errors.py): 0 ok, 1 error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from kugetsu_tui.base.errors import ExitCode, KugetsuError
from kugetsu_tui.base.home import Home

if TYPE_CHECKING:
    from kugetsu_tui.attention.watch import ActivityWatch
    from kugetsu_tui.queue.claims import DrainResult
    from kugetsu_tui.queue.items import QueueItem

KUGETSU_FIELDS = ("opencode_session_id", "pid", "fork_pid")


def add_parsers(sub: Any) -> None:
    """`queue …` subcommands, on the main parser's subparsers (and its parser class: usage errors exit 1)."""
    queue = sub.add_parser("queue", help="work waiting for a slot (kugetsu's queue/items/)")
    commands = queue.add_subparsers(
        dest="queue_command", metavar="QUEUE_COMMAND", required=True, parser_class=type(queue)
    )
    add = commands.add_parser("add", help="queue a start for when a slot frees")
    add.set_defaults(run=_add)
    add.add_argument("ref", help="HOST/OWNER/REPO#N, OWNER/REPO#N or https://HOST/OWNER/REPO/issues/N")
    add.add_argument("message", help="the first message for the agent")
    ls = commands.add_parser("ls", help="list the queue (pending in order, then the others)")
    ls.set_defaults(run=_ls, lists=True)
    ls.add_argument(
        "--json",
        action="store_true",
        help="machine-readable output (on a home that does not exist: the empty listing, and exit 1)",
    )
    ls.add_argument("--all", action="store_true", help="include completed items")
    rm = commands.add_parser("rm", help="remove an item")
    rm.set_defaults(run=_rm)
    rm.add_argument("id", help="item id (see queue ls)")
    front = commands.add_parser(
        "front",
        help="move a pending item to the front",
        description="Move a pending item to the front. Its age (pending_since) is kept: the order is our "
        "own queue_order field, which kugetsu's daemon does not read.",
    )
    front.set_defaults(run=_front)
    front.add_argument("id", help="item id (see queue ls)")
    drain = commands.add_parser(
        "drain",
        help="start pending items while slots are free",
        description="Start pending items while slots are free. Exit 1 when something blocks every start "
        "(no base session, agent program missing, invalid limit, broken config.toml).",
    )
    drain.set_defaults(run=_drain)
    drain.add_argument("--watch", action="store_true", help="keep draining whenever a slot frees, until stopped")


def cmd_start_or_queue(home: Home, args: argparse.Namespace) -> int:
    """`start --queue`: start now if a slot is free, else queue (exit 0 either way)."""
    from kugetsu_tui.queue.manage import Queued, start_or_queue

    outcome = start_or_queue(home, args.ref, args.message)
    if isinstance(outcome, Queued):
        print_queued(outcome.item, outcome.position, "at capacity: ")
        return ExitCode.OK
    sid = outcome.opencode_session_id or "pending"
    print(
        f"started {outcome.issue_ref} as {outcome.name} (opencode session {sid}, state {outcome.state}, "
        f"log {outcome.log})"
    )
    return ExitCode.OK


def print_queued(item: QueueItem, position: int, prefix: str = "") -> None:
    print(
        f"{prefix}queued {item.issue_ref} as {item.id} (position {position}); it starts when a slot frees "
        "and a drainer runs (kugetsu-tui queue drain)"
    )


def _add(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.queue.manage import enqueue

    queued = enqueue(home, args.ref, args.message)
    print_queued(queued.item, queued.position)
    return ExitCode.OK


def _rm(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.queue.manage import remove_item

    item = remove_item(home, args.id)
    print(f"removed {printable(item.id)} ({printable(item.issue_ref or item.state)})")
    return ExitCode.OK


def _front(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.queue.manage import move_to_front

    item = move_to_front(home, args.id)
    print(f"{printable(item.id)} ({printable(item.issue_ref)}) is next in the queue")
    return ExitCode.OK


def item_json(item: QueueItem, position: int | None) -> dict[str, Any]:
    data = item.data
    return {
        "id": item.id,
        "position": position,
        "state": item.state,
        "issue_ref": item.issue_ref,
        "message": data.get("message") if not item.broken else None,
        "pending_since": data.get("pending_since"),
        "attempts": item.attempts,
        "error": item.error or data.get("error"),
        "last_error": data.get("last_error"),
        "session": data.get("session"),
        "notified_at": data.get("notified_at"),
        "completed_at": data.get("completed_at"),
        **{key: data.get(key) for key in KUGETSU_FIELDS},
        "path": str(item.path),
    }


def _note(item: QueueItem) -> str:
    from kugetsu_tui.queue.items import ItemState

    if item.failure:
        return item.failure
    claimer = item.data.get("claimed_by")
    if item.state == ItemState.STARTING and isinstance(claimer, dict):
        return f"claimed by pid {claimer.get('pid')} at {item.data.get('claimed_at')}"
    parts = [f"session {item.data['session']}"] if item.data.get("session") else []
    parts += [f"{key.replace('_', ' ')} {item.data[key]}" for key in KUGETSU_FIELDS if item.data.get(key)]
    return ", ".join(parts)


def _ls(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable, since, table_lines
    from kugetsu_tui.queue.items import WAITING, ItemState, list_items, pending_in_order, queue_path_problem

    problem = queue_path_problem(home)
    if problem:  # not "the queue is empty"
        raise KugetsuError(problem)
    items = [i for i in list_items(home) if args.all or i.state != ItemState.COMPLETED]
    positions = {item.id: number for number, item in enumerate(pending_in_order(items), start=1)}
    queued = sum(1 for i in items if i.state in WAITING)
    if args.json:
        from kugetsu_tui.base.text import undecodable_as_text

        listing = {"queued": queued, "items": [item_json(i, positions.get(i.id)) for i in items]}
        print(undecodable_as_text(json.dumps(listing, indent=2)))
        return ExitCode.OK
    if not items:
        print("the queue is empty")
        return ExitCode.OK
    rows = [("POS", "ID", "STATE", "ISSUE", "AGE", "ATTEMPTS", "NOTE")]
    for item in items:
        rows.append(
            (
                str(positions.get(item.id, "")),
                printable(item.id),
                printable(item.state),
                printable(item.issue_ref),
                since(item.queued_timestamp()),
                str(item.attempts or ""),
                printable(_note(item)),
            )
        )
    print("\n".join(table_lines(rows)))
    print(f"{queued} queued")
    return ExitCode.OK


def _drain(home: Home, args: argparse.Namespace) -> int:
    if args.watch:
        return _watch(home)
    from kugetsu_tui.queue.claims import DrainOutcome
    from kugetsu_tui.queue.drain import describe, drain_once
    from kugetsu_tui.queue.items import waiting_count

    results = drain_once(home)
    for result in results:
        if result.outcome != DrainOutcome.BLOCKED:  # a block is the error line on stderr, said once
            print(describe(result))
    blocked = [r for r in results if r.outcome == DrainOutcome.BLOCKED]
    if blocked:  # drain_once stops at the first one
        raise KugetsuError(f"queue drain blocked: {blocked[-1].detail}")
    print(f"{sum(1 for r in results if r.outcome == DrainOutcome.STARTED)} started, {waiting_count(home)} still queued")
    return ExitCode.OK


def _drain_notifications(home: Home) -> ActivityWatch | None:
    """With `[notify] by = "drain"`, what tells this drainer's notifier of each change of activity."""
    import sys

    from kugetsu_tui.attention.notifier import Notifier
    from kugetsu_tui.attention.settings import load_notify_settings
    from kugetsu_tui.attention.watch import ActivityWatch

    try:
        settings = load_notify_settings(home)
    except KugetsuError as exc:
        print(f"kugetsu-tui: warning: notifications are off: {exc}", file=sys.stderr, flush=True)
        return None
    if settings.by != "drain":
        return None

    def failed(failure: str) -> None:
        print(f"kugetsu-tui: warning: notification failed: {failure}", file=sys.stderr, flush=True)

    def to_terminal(sequence: str) -> None:
        sys.stdout.write(sequence)
        sys.stdout.flush()

    terminal = to_terminal if sys.stdout.isatty() else None
    watch = ActivityWatch(home, Notifier(home, settings, write_terminal=terminal, on_error=failed))
    watch.look()  # where each session is now: no news
    print("notifying of sessions that want you (desktop, terminal, webhook as [notify] says)", flush=True)
    return watch


def _watch(home: Home) -> int:
    """Run until SIGTERM or SIGINT, then finish the start in progress and exit 0."""
    import asyncio
    import signal

    from kugetsu_tui.queue.drain import describe
    from kugetsu_tui.queue.follow import drain_until_stopped

    def report(result: DrainResult) -> None:
        print(f"{time.strftime('%H:%M:%S')} {describe(result)}", flush=True)

    watch = _drain_notifications(home)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        draining = drain_until_stopped(
            home,
            stop,
            report,
            on_ready=lambda: print(
                f"draining {home.queue_items_dir} whenever a slot frees (stop with Ctrl+C or SIGTERM)", flush=True
            ),
        )
        if watch is None:
            await draining
            return
        from kugetsu_tui.attention.watch import watch_until_stopped

        await asyncio.gather(draining, watch_until_stopped(watch, stop))

    from kugetsu_tui.cluster.liveness import beat_in_background

    beats = beat_in_background(home, lambda line: print(f"{time.strftime('%H:%M:%S')} {line}", flush=True))
    asyncio.run(run())
    beats.set()
    print("stopped", flush=True)
    return ExitCode.OK
