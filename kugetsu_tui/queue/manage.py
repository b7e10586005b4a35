"""The operator's changes to the queue: add (or start at once), remove, move to the front.

Each runs under the sessions lock, the one drainers claim items under, so a change never races a claim
and a ref is never queued while it gets a session.
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from kugetsu_tui.base.atomic import write_json
from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.base.refs import IssueRef, parse_issue_ref
from kugetsu_tui.lifecycle.start import Launched, check_message, start_session
from kugetsu_tui.queue.items import (
    ORDER_FIELD,
    WAITING,
    ItemState,
    QueueItem,
    ensure_queue_dirs,
    iso_now,
    item_path,
    list_items,
    new_item_id,
    pending_in_order,
    read_item,
    record_queue_event,
)
from kugetsu_tui.sessions.files import same_issue_file
from kugetsu_tui.sessions.ledger import Event


class Queued(NamedTuple):
    """An item just added, and its place in the queue (1 = next to start)."""

    item: QueueItem
    position: int


def position_of(home: Home, item_id: str) -> int | None:
    for number, item in enumerate(pending_in_order(list_items(home)), start=1):
        if item.id == item_id:
            return number
    return None


def refuse_queued(home: Home, ref: IssueRef) -> None:
    """Refuse a ref that already waits in the queue (kugetsu's naming: same file name, same session)."""
    for item in list_items(home):
        if item.state in WAITING and (_session_name(item) or "").casefold() == ref.session_name.casefold():
            raise KugetsuError(f"{ref} is already queued as {item.id} ({item.state}): see `kugetsu-tui queue ls`")


def _session_name(item: QueueItem) -> str | None:
    try:
        return parse_issue_ref(item.issue_ref or "").session_name
    except KugetsuError:
        return None


def enqueue(home: Home, ref_text: str, message: str) -> Queued:
    """Add a pending item at the back of the queue; refused if the ref has a session or a waiting item."""
    ref = parse_issue_ref(ref_text)
    check_message(message)
    with sessions_lock(home):
        session = home.session_path(ref.session_name)
        other = same_issue_file(home.sessions_dir, ref.session_name)
        if os.path.lexists(session) or other:
            name = other or session.name
            raise KugetsuError(f"{ref} already has a session ({name}): use `kugetsu-tui continue {name[:-5]}`")
        refuse_queued(home, ref)
        ensure_queue_dirs(home)  # after the refusals: a refused add leaves the home as it was
        item_id = new_item_id()
        path = home.queue_items_dir / f"{item_id}.json"
        write_json(
            path,
            {
                "id": item_id,
                "issue_ref": ref.text,
                "message": message,
                "state": ItemState.PENDING,
                "pending_since": iso_now(),
                "notified_at": None,
                "completed_at": None,
                "error": None,
                "attempts": 0,
            },
        )
        position = position_of(home, item_id)
        item = read_item(path)
        record_queue_event(home, Event.QUEUED, item)
    return Queued(item, position or 0)


def start_or_queue(home: Home, ref_text: str, message: str) -> Launched | Queued:
    """Start now if a slot is free, else queue: nothing is lost at capacity."""
    ref = parse_issue_ref(ref_text)
    check_message(message)
    try:
        return start_session(home, ref.text, message, on_admit=lambda run_id: refuse_queued(home, ref))
    except AtCapacityError:
        return enqueue(home, ref.text, message)


def _existing(home: Home, item_id: str) -> QueueItem:
    path = item_path(home, item_id)
    try:
        return read_item(path)
    except FileNotFoundError:
        raise KugetsuError(f"no queue item {item_id!r} in {home.queue_items_dir} (see: kugetsu-tui queue ls)") from None


def remove_item(home: Home, item_id: str) -> QueueItem:
    """Delete an item file (a broken one too; a symlink itself, never its target)."""
    with sessions_lock(home):
        item = _existing(home, item_id)
        if item.state == ItemState.STARTING:
            raise KugetsuError(f"{item.id} is being started right now: remove it once it has started or failed")
        if stat.S_ISDIR(os.lstat(item.path).st_mode):
            raise KugetsuError(f"{item.path} is a directory, not an item: remove it by hand")
        os.unlink(item.path)
        if item.state in WAITING:
            record_queue_event(home, Event.DEQUEUED, item, reason="removed")
    return item


def move_to_front(home: Home, item_id: str) -> QueueItem:
    """Make a pending item the next to start: its `queue_order` becomes a second before the first one's.

    `pending_since` is left as it was, so the item's age stays true; why kugetsu still reads a sane
    queue is in queue/items.py.
    """
    with sessions_lock(home):
        item = _existing(home, item_id)
        if item.state != ItemState.PENDING:
            raise KugetsuError(f"{item.id} is {item.state}, not pending: only a pending item can move")
        first = pending_in_order(list_items(home))[0]
        if first.id == item.id:
            return item
        write_json(item.path, dict(item.data, **{ORDER_FIELD: first.queue_order() - 1}))
        return read_item(item.path)
