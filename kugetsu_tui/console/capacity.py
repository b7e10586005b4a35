"""The capacity figure `active/limit`, coloured by headroom, with the watcher's mode beside it; a click on it
opens the capacity view."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.reactive import var
from textual.widgets import Static

from kugetsu_tui.base.text import printable
from kugetsu_tui.console.model import Capacity
from kugetsu_tui.sessions.limit import Limit
from kugetsu_tui.sessions.watch import MODE_NATIVE


def headroom(active: int, limit: Limit) -> str:
    """'free', 'last' (one slot left), 'full' or 'invalid': the bar's colour class."""
    if limit.value is None:
        return "invalid"
    left = limit.value - active
    return "full" if left <= 0 else "last" if left == 1 else "free"


class CapacityBar(Static):
    DEFAULT_CSS = """
    CapacityBar { width: auto; height: 1; padding: 0 1; text-style: bold; }
    CapacityBar.free { background: $success; color: $text; }
    CapacityBar.last { background: $warning; color: $text; }
    CapacityBar.full, CapacityBar.invalid { background: $error; color: $text; }
    """

    capacity: var[Capacity | None] = var(None)

    class Opened(Message):
        """The figure was clicked: the capacity view opens."""

    def on_click(self) -> None:
        self.post_message(self.Opened())

    def watch_capacity(self, capacity: Capacity | None) -> None:
        if capacity is None:
            return
        active, limit, watcher_mode, done, queued, server_trouble, idle, cluster = capacity
        state = headroom(active, limit)
        self.set_classes(state)
        text = Text()
        if limit.value is None:
            text.append(f"{active}/? limit invalid")
        else:
            text.append(f"{active}/{limit.value}")
            text.append({"free": " agents", "last": " last slot", "full": " full"}[state])
        if done:
            text.append(f" · {done} done")
        if queued:
            text.append(f" · {queued} queued")
        if idle:
            text.append(f" · {idle} idle")
        if cluster:
            text.append(f" · {printable(cluster)}")
        if server_trouble:
            text.append(" · server unreachable")
        if watcher_mode != MODE_NATIVE:
            text.append(f" · {printable(watcher_mode)}")
        self.update(text)
        self.tooltip = limit.error or server_trouble or None
