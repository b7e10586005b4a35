"""Queue item files, exactly as kugetsu writes them: one JSON object per file in `queue/items/`.

kugetsu (#140, #147) writes `{"id": "q_…", "issue_ref", "message", "state", "pending_since", "notified_at",
"completed_at", "error"}` and its daemon may add `opencode_session_id`, `pid`, `fork_pid`. We add `attempts`,
`last_error`, `session` and the claim (`run_id`, `claimed_at`, `claimed_by`), and keep every field we do not
know. Files are read like session files (symlinks never followed, nothing raised for their content): a
broken one is listed as broken and never written to.

The order: oldest `pending_since` first (kugetsu's field, the item's true age), ties by id, unless an
item carries our `queue_order`, which is read first. `queue front` writes only that field (a number on
`pending_since`'s scale, a second before the first item's), never `pending_since`: the age stays true,
and kugetsu, which reads only its own fields (our `attempts` and claim sit beside them the same way),
still reads a valid queue in the order items were added (by `pending_since`, or by file name: our ids
grow with time); only our drainers honour a move to the front. Items kugetsu adds later have no `queue_order`,
so they go by their `pending_since`, behind the moved ones.
"""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.refs import parse_issue_ref
from kugetsu_tui.sessions.files import is_session_filename, read_session
from kugetsu_tui.sessions.ledger import Event, record_counted


class ItemState(StrEnum):
    """An item's `state`: kugetsu's own values on disk (never renamed: its daemon reads them too), plus ours."""

    PENDING = "pending"
    STARTING = "starting"  # ours: claimed by a drainer right now
    NOTIFIED = "notified"  # kugetsu's daemon handed it to its PM agent: shown, never touched
    COMPLETED = "completed"
    ERROR = "error"  # given up
    BROKEN = "broken"  # ours, never written: the file is not a usable item


#: Ours, kugetsu ignores it: the queue's order when `queue front` moved an item (see the module's docstring).
ORDER_FIELD = "queue_order"
WAITING = frozenset({ItemState.PENDING, ItemState.STARTING})  # what "queued" counts
MAX_ATTEMPTS = 3
_DISPLAY_ORDER: dict[str, int] = {
    ItemState.STARTING: 0,
    ItemState.PENDING: 1,
    ItemState.NOTIFIED: 2,
    ItemState.ERROR: 3,
    ItemState.COMPLETED: 4,
}


def iso_now(precise: bool = False) -> str:
    """Local time with offset, as kugetsu writes it; `precise` adds microseconds (our own fields only)."""
    return datetime.now(UTC).astimezone().isoformat(timespec="microseconds" if precise else "seconds")


def parse_time(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class QueueItem(NamedTuple):
    """One item file as found on disk; `error` says why the file is unusable (state broken)."""

    id: str
    path: Path
    data: dict[str, Any]
    error: str | None = None
    mtime: float = 0.0

    @property
    def broken(self) -> bool:
        return self.error is not None

    @property
    def state(self) -> str:
        """An `ItemState`, or a value this version does not know, shown as found."""
        if self.error is not None:
            return ItemState.BROKEN
        return _text(self.data.get("state")) or "unknown"

    @property
    def issue_ref(self) -> str | None:
        return _text(self.data.get("issue_ref"))

    @property
    def message(self) -> str:
        value = self.data.get("message")
        return value if isinstance(value, str) else ""

    @property
    def attempts(self) -> int:
        value = self.data.get("attempts")
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    @property
    def failure(self) -> str | None:
        """Why it is not started: the broken file, the final error, or the last failed attempt."""
        return self.error or _text(self.data.get("error")) or _text(self.data.get("last_error"))

    def queued_timestamp(self) -> float:
        """`pending_since` when it parses, else the file's mtime: when it was queued (its age)."""
        stamp = parse_time(self.data.get("pending_since"))
        return self.mtime if stamp is None else stamp

    def queue_order(self) -> float:
        """Where it stands in the queue: our `queue_order` if it is a finite number, else when it was queued."""
        value = self.data.get(ORDER_FIELD)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        return self.queued_timestamp()

    def order_key(self) -> tuple[float, str]:
        # Ties (kugetsu writes whole seconds) go by id: ours grow with time.
        return (self.queue_order(), self.id)

    def display_key(self) -> tuple[int, float, str]:
        rank = len(_DISPLAY_ORDER) + (1 if self.broken else 0)
        return (_DISPLAY_ORDER.get(self.state, rank), *self.order_key())


def record_queue_event(home: Home, event: Event, item: QueueItem, **fields: Any) -> None:
    """The item's line in the slot ledger (the caller holds the sessions lock)."""
    try:
        session: str | None = parse_issue_ref(item.issue_ref or "").session_name
    except KugetsuError:
        session = None
    record_counted(home, event, session, item=item.id, **fields)


def read_item(path: Path) -> QueueItem:
    """Read one item file; FileNotFoundError if it vanished, otherwise never raises for its content."""
    session = read_session(path)  # the same defences as session files: size, symlink, binary, JSON
    item = QueueItem(session.name, path, session.data, session.error, session.mtime)
    if item.broken:
        return item
    if not item.issue_ref:
        return item._replace(error="no issue_ref")
    if not isinstance(item.data.get("message"), str):
        return item._replace(error="no message")
    return item


def list_items(home: Home) -> list[QueueItem]:
    """Every item: being started, then pending in queue order, then notified, error, completed, broken."""
    try:
        names = os.listdir(home.queue_items_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    items = []
    for name in names:
        if not is_session_filename(name):  # our temp files start with '.'
            continue
        try:
            items.append(read_item(home.queue_items_dir / name))
        except FileNotFoundError:
            continue
    return sorted(items, key=QueueItem.display_key)


def pending_in_order(items: list[QueueItem]) -> list[QueueItem]:
    """Pending items in queue order (`queue_order`, else oldest `pending_since`): position N is index N-1."""
    return sorted((i for i in items if i.state == ItemState.PENDING), key=QueueItem.order_key)


def waiting_count(home: Home) -> int:
    """How many items wait for a slot (pending, or being started right now)."""
    return sum(1 for item in list_items(home) if item.state in WAITING)


def new_item_id() -> str:
    """`q_` + microseconds + random: unique, and sorting by id keeps the order items were added."""
    return f"q_{time.time_ns() // 1000}_{os.urandom(3).hex()}"


def item_path(home: Home, item_id: str) -> Path:
    """The file of an item id (or file name) given by a user; refuses anything that is not a plain name."""
    name = item_id.removesuffix(".json")
    if not name or name.startswith(".") or "/" in name or "\0" in name:
        raise KugetsuError(f"invalid queue item id {item_id!r}: expected an id such as q_1700000000000000_a1b2c3")
    return home.queue_items_dir / f"{name}.json"


def queue_path_problem(home: Home) -> str | None:
    """A file where the queue's directories should be (it would read as an empty queue), or None."""
    for path in (home.queue_items_dir.parent, home.queue_items_dir):
        if os.path.lexists(path) and not os.path.isdir(path):
            return f"the queue directory {path} is not a directory: move that file away"
    return None


def ensure_queue_dirs(home: Home) -> None:
    problem = queue_path_problem(home)
    if problem:  # else mkdir's bare "File exists"
        raise KugetsuError(problem)
    home.ensure(home.root, home.queue_items_dir.parent, home.queue_items_dir)
