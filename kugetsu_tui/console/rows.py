"""The cells of each table row, built from the model: sessions and queued items alike.

Cells are rich `Text` built from untrusted file content: never parsed as markup, control
characters made visible. The widths are fixed, so a live cell that grows never re-lays out the table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.cells import cell_len
from rich.text import Text

from kugetsu_tui.base.text import age, head, megabytes, printable
from kugetsu_tui.console.model import ConsoleModel, ParkedRow, QueueRow, Row, Stats
from kugetsu_tui.console.virtual_table import LazyCells, short_key
from kugetsu_tui.queue.items import ItemState
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.overview import SessionView, brief
from kugetsu_tui.sessions.states import State
from kugetsu_tui.work.states import WorkState
from kugetsu_tui.work.status import WorkStatus

# (key, label, width). Most telling first: on a narrow terminal the right-hand columns scroll.
COLUMNS = (
    ("mark", "", 1),
    ("kind", "Kind", 5),
    ("ref", "Issue / session", 26),
    ("state", "State", 14),
    ("work", "Work", 14),
    ("activity", "Activity", 22),
    ("tokens", "Tokens", 6),
    ("branch", "Branch", 14),
    ("age", "Age", 4),
    ("changed", "Changed", 7),
    ("cpu", "CPU%", 4),
    ("mem", "Mem", 7),
    ("pid", "PID", 7),
    ("oc", "opencode id", 32),
)
WIDTHS = {key: width for key, _, width in COLUMNS}
LIVE_COLUMNS = ("age", "changed", "cpu", "mem")  # the cells that change with the clock or a process sample
STATE_STYLES = {
    State.RUNNING: "bold green",
    State.STARTING: "yellow",
    State.RESTORING: "yellow",
    State.IDLE: "",
    State.FAILED: "bold red",
    State.TIMEOUT: "bold red",
    State.CORRUPT: "bold magenta",
}
KIND_STYLES = {"base": "cyan", "pm": "blue", "dev": "", "park": "dim", "queue": "dim"}
ACTIVITY_STYLES = {
    Activity.BUSY: "green",
    Activity.RETRY: "yellow",
    Activity.NEEDS_INPUT: "bold reverse yellow",
    Activity.DENIED: "bold yellow",
    Activity.STALLED: "bold magenta",
    Activity.ERROR: "bold red",
    Activity.UNKNOWN: "dim",
}
SHORT_ACTIVITIES = {Activity.NEEDS_INPUT: "asking", Activity.UNKNOWN: "?"}
WORK_STYLES = {WorkState.MERGED: "bold green", WorkState.CLOSED: "green", WorkState.OPEN: "", WorkState.UNKNOWN: "dim"}
#: where rows of each kind sort: base, PM, dev sessions, parked sessions, then the queue
PARKED_ORDER = 3
QUEUE_ORDER = 4
MARK = "●"
#: In the mark column of a row whose session needs the operator: the rows the title's "(N need you)" counts.
NEEDS_YOU = "!"
DESTROYING = "destroying…"


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def sort_key(row: Row) -> tuple[Any, ...]:
    if isinstance(row, QueueRow):
        return (QUEUE_ORDER, *row.item.display_key())
    if isinstance(row, ParkedRow):
        return (PARKED_ORDER, *row.view.session.sort_key()[1:])
    return row.session.sort_key()


def row_cells(row: Row, model: ConsoleModel, now: float) -> dict[str, Text]:
    if isinstance(row, QueueRow):
        return queue_cells(row, now)
    if isinstance(row, ParkedRow):
        return parked_cells(row, model.work(row.view), now)
    name = row.session.name
    cells = session_cells(
        row, model.stats.get(name), model.work(row), name in model.marked, now, model.activity.get(name)
    )
    usage = model.usage.get(name)
    cells["tokens"] = Text(usage.compact() if usage is not None else "", justify="right")
    if name in model.destroying:
        cells["state"] = Text(DESTROYING, style="bold red")
    if name not in model.marked and model.needs_you(name):
        cells["mark"] = Text(NEEDS_YOU, style="bold reverse yellow")
    return cells


def lazy_cells(row: Row, model: ConsoleModel, clock: Callable[[], float]) -> LazyCells:
    """The row's cells, built (from the model as it is then) when the table first draws the row: at 10,000
    sessions a change to every row (the first load, the first work check) costs a screenful of cells,
    where building them all held the loop for 1.6 s."""
    return LazyCells(lambda: row_cells(row, model, clock()), growing_widths(row, model))


def growing_widths(row: Row, model: ConsoleModel) -> dict[str, int]:
    """The widths of the cells of the columns that grow to their widest cell (state, activity), without
    building the row: the table lays out every row by them, and builds only the rows it draws."""
    if isinstance(row, QueueRow):
        return {"state": cell_len(queue_state(row))}
    if isinstance(row, ParkedRow):  # no agent: no activity
        return {"state": cell_len(State.PARKED if row.view.shown_state == State.PARKED else state_text(row.view))}
    name = row.session.name
    state = DESTROYING if name in model.destroying else state_text(row)
    return {
        "state": cell_len(state),
        "activity": cell_len(activity_line(shown_activity(row, model.activity.get(name)))),
    }


def live_texts(row: Row, model: ConsoleModel, now: float) -> tuple[str, ...]:
    """The texts of a row that change with time alone (ages) or with a process sample (CPU, memory).

    A once-a-second refresh compares these and rebuilds only the rows whose texts changed.
    """
    if isinstance(row, QueueRow):
        return (_queue_age(row, now),)
    if isinstance(row, ParkedRow):
        return _session_live(row.view, None, now)
    return _session_live(row, model.stats.get(row.session.name), now)


def _session_live(view: SessionView, stats: Stats | None, now: float) -> tuple[str, str, str, str]:
    """Age, changed, CPU and memory: the texts of LIVE_COLUMNS."""
    s = view.session
    return (
        age(now - s.created_timestamp(), coarse=True),
        age(now - s.mtime, coarse=True) if s.mtime else "",
        f"{stats[0]:.0f}" if stats else "",
        megabytes(stats[1]) if stats else "",
    )


def _queue_age(row: QueueRow, now: float) -> str:
    return age(now - row.item.queued_timestamp(), coarse=True)


def activity_line(info: ActivityInfo | None) -> str:
    """The activity and the head of its detail (the preview shows it whole); an error's words are the
    agent's, not ours, and are kept whole."""
    if info is None or info.state == Activity.IDLE:
        return ""
    detail = info.detail if info.state == Activity.ERROR else head(info.detail)
    return printable(f"{info.state}: {detail}" if detail else info.state)


def activity_text(info: ActivityInfo | None) -> Text:
    line = activity_line(info)
    return Text(line, style=ACTIVITY_STYLES.get(info.state, "")) if info is not None and line else Text("")


def state_text(view: SessionView) -> str:
    """The state, with the reason of a failure (the column grows for it)."""
    state: str = view.shown_state
    reason = brief(view)
    if reason and view.shown_state in (State.FAILED, State.CORRUPT, State.TIMEOUT, State.UNKNOWN):
        state = f"{state}: {reason}"
    return printable(state)


def shown_activity(view: SessionView, activity: ActivityInfo | None) -> ActivityInfo | None:
    """A failed session's reason is in its state already, and a corrupt file has no agent of ours to ask."""
    return None if view.shown_state in (State.FAILED, State.TIMEOUT, State.CORRUPT) else activity


def activity_word(info: ActivityInfo | None) -> Text:
    """The activity's short form, for a narrow terminal: one word."""
    if info is None or info.state == Activity.IDLE:
        return Text("")
    return Text(SHORT_ACTIVITIES.get(info.state, info.state), style=ACTIVITY_STYLES.get(info.state, ""))


def session_cells(
    view: SessionView,
    stats: Stats | None,
    work: WorkStatus,
    marked: bool,
    now: float,
    activity: ActivityInfo | None = None,
) -> dict[str, Text]:
    """The cells of a session's row, every one of them literal text."""
    s = view.session
    activity = shown_activity(view, activity)
    stale = s.pid is not None and not view.alive
    branch = s.data.get("branch_name")
    cells = {
        "mark": Text(MARK if marked else "", style="bold yellow"),
        "kind": Text(s.kind, style=KIND_STYLES.get(s.kind, "")),
        "ref": Text(clip(printable(s.issue_ref or s.name), WIDTHS["ref"])),
        # Not clipped here: the state column takes the spare width, and the table cuts what still does not fit.
        "state": Text(state_text(view), style=STATE_STYLES.get(view.shown_state, "")),
        "work": Text(
            clip(printable(work.label), WIDTHS["work"]) if s.kind == "dev" else "",
            style=WORK_STYLES.get(work.state, ""),
        ),
        "activity": activity_text(activity),
        "tokens": Text(""),  # from the model's usage (row_cells): the server's count
        "branch": Text(clip(printable(branch), WIDTHS["branch"]) if isinstance(branch, str) else "", style="dim"),
        **{
            key: Text(text, justify="right")
            for key, text in zip(LIVE_COLUMNS, _session_live(view, stats, now), strict=True)
        },
        "pid": Text(str(s.pid or ""), style="dim" if stale else ""),
        "oc": Text(printable(s.opencode_session_id), style="dim"),
    }
    return {**{key: cells[key] for key, _, _ in COLUMNS}, short_key("activity"): activity_word(activity)}


def parked_cells(row: ParkedRow, work: WorkStatus, now: float) -> dict[str, Text]:
    """A parked session's row: a session's cells, of their own kind (`park`), with no agent to show."""
    cells = session_cells(row.view, None, work, False, now)
    cells["kind"] = Text("park", style=KIND_STYLES["park"])
    if row.view.shown_state == State.PARKED:
        cells["state"] = Text(State.PARKED, style="italic")
    return cells


def queue_state(row: QueueRow) -> str:
    """A queued item's place in line, or its state and why it failed."""
    item = row.item
    if item.state == ItemState.PENDING and row.position is not None:
        state = f"queued #{row.position}"
    else:
        state = item.state
    if item.failure and item.state in (ItemState.ERROR, ItemState.BROKEN):
        state = f"{state}: {item.failure}"
    return printable(state)


def queue_cells(row: QueueRow, now: float) -> dict[str, Text]:
    """The cells of a queued item's row: its place in line, age, attempts, and why it failed."""
    item = row.item
    attempts = f"attempt {item.attempts}/3" if item.attempts else ""
    pid = item.data.get("pid")
    sid = item.data.get("opencode_session_id")
    cells = {
        "mark": Text(""),
        "kind": Text("queue", style=KIND_STYLES["queue"]),
        "ref": Text(clip(printable(item.issue_ref or item.id), WIDTHS["ref"])),
        "state": Text(
            queue_state(row),
            style="bold red" if item.state in (ItemState.ERROR, ItemState.BROKEN) else "italic",
        ),
        "work": Text(attempts, style="dim"),
        "activity": Text(""),
        "tokens": Text(""),
        "branch": Text(""),
        "age": Text(_queue_age(row, now), justify="right"),
        "changed": Text(""),
        "cpu": Text(""),
        "mem": Text(""),
        "pid": Text(str(pid) if isinstance(pid, int) and not isinstance(pid, bool) else "", style="dim"),
        "oc": Text(printable(sid if isinstance(sid, str) else item.id), style="dim"),
    }
    return {key: cells[key] for key, _, _ in COLUMNS}
