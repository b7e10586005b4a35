"""One notification per transition of a session into needs_input, denied, stalled, error, or idle after work.

The console (or `queue drain --watch`, with `[notify] by = "drain"`) tells the `Notifier` each change
of a session's activity. A change that wants the operator (`wants_attention`) is claimed in the
record shared by every process on the home (record.py), so it notifies once however many processes
see it; the session the console has selected is claimed but kept quiet (the operator is looking at
it). The terminal's sequence is written by the caller (it owns the terminal); the desktop and the
webhook are sent in a thread. A channel's failure is reported once per distinct message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from kugetsu_tui.attention.channels import Notice, send_desktop, send_in_background, send_webhook, terminal_sequence
from kugetsu_tui.attention.record import claim, release
from kugetsu_tui.attention.settings import NotifySettings
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.text import printable
from kugetsu_tui.sessions.activities import Activity, ActivityInfo, wants_attention

#: What a session did, by the activity it changed to, when the change wants the operator.
TRANSITION_WORDS = {
    Activity.NEEDS_INPUT: ("needs input", "it waits for an answer (a, A or x answer a permission ask)"),
    Activity.DENIED: ("was denied a permission", "opencode refused what the agent asked for"),
    Activity.STALLED: ("stalled", "its agent has printed nothing for a while"),
    Activity.ERROR: ("hit an error", "its last message ended in an error"),
    Activity.IDLE: ("finished", "its agent finished its message: c sends the next one"),
}


def attention_notice(who: str, info: ActivityInfo) -> tuple[str, str]:
    """(title, text) of the notification for a session whose activity just changed to `info`."""
    done, meaning = TRANSITION_WORDS.get(info.state, (f"is {info.state}", ""))
    return f"{who} {done}", printable(info.detail) if info.detail else meaning


class Notifier:
    """Sends the notifications of one process: `changed` for every change of a session's activity."""

    def __init__(
        self,
        home: Home,
        settings: NotifySettings,
        *,
        write_terminal: Callable[[str], None] | None,
        on_error: Callable[[str], None],
    ) -> None:
        self.home = home
        self.settings = settings
        self._write_terminal = write_terminal  # None: this process has no terminal to write to
        self._on_error = on_error
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    def changed(
        self, name: str, issue: str | None, before: ActivityInfo | None, after: ActivityInfo, *, quiet: bool = False
    ) -> list[str]:
        """Notify a change that wants the operator, once across processes; the channels used (for the caller)."""
        if before is not None and before.state == after.state:
            return []  # only its detail changed (`output 40s ago`)
        if before is None or not wants_attention(before.state, after.state):
            release(self.home, name, after.state)  # it left what was notified: its next entry is news again
            return []
        if not claim(self.home, name, after.state) or quiet:
            return []
        title, reason = attention_notice(printable(issue or name), after)
        notice = Notice(name, issue, str(after.state), title, reason)
        channels = self.settings.channels(after.state)
        if "terminal" in channels and self._write_terminal is not None:
            self._write_terminal(terminal_sequence(notice))
        senders: list[Callable[[], str | None]] = []
        if "desktop" in channels:
            senders.append(lambda: send_desktop(notice))
        webhook = self.settings.webhook
        if "webhook" in channels and webhook:
            senders.append(lambda: send_webhook(webhook, notice))
        if senders:
            send_in_background(senders, self.report)
        return channels

    def report(self, failure: str) -> None:
        """Each distinct failure once: a webhook that is down is said once, not at every transition."""
        with self._lock:
            if failure in self._reported:
                return
            self._reported.add(failure)
        self._on_error(failure)
