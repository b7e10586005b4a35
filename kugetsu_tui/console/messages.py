"""Messages the console's workers post: what they read, sampled or did, for the UI to show.

Workers never touch widgets: they post one of these (`post_message` is thread-safe) and a
handler on the UI side updates the model and the screen. Tests observe them with
`run_test(message_hook=...)`.
"""

from __future__ import annotations

from textual.message import Message

from kugetsu_tui.console.model import Stats
from kugetsu_tui.overview import SessionView


class SessionsRead(Message):
    """Session files re-read after a change (`rescan`: every file, so the count is recounted)."""

    def __init__(self, fresh: list[SessionView], gone: list[str], rescan: bool) -> None:
        super().__init__()
        self.fresh = fresh
        self.gone = gone
        self.rescan = rescan


class WatcherModeChanged(Message):
    """The watcher now uses inotify, polling, or waits for the sessions directory."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode


class ProcessesSampled(Message):
    """Which agents are alive, with the CPU and memory of their process trees."""

    def __init__(self, alive: dict[str, bool], stats: dict[str, Stats]) -> None:
        super().__init__()
        self.alive = alive
        self.stats = stats


class ActionDone(Message):
    """A core action (start, continue, destroy, restore) finished: `text` says what happened."""

    def __init__(self, action: str, text: str) -> None:
        super().__init__()
        self.action = action
        self.text = text


class ActionRefused(Message):
    """The core refused an action (`at_capacity`: the cap said no) or it failed: `text` says why."""

    def __init__(self, action: str, text: str, at_capacity: bool) -> None:
        super().__init__()
        self.action = action
        self.text = text
        self.at_capacity = at_capacity


class SessionArchived(Message):
    """A destroy archived a session as `entry_id`: `u` can bring it back."""

    def __init__(self, entry_id: str, warnings: list[str]) -> None:
        super().__init__()
        self.entry_id = entry_id
        self.warnings = warnings


class RestoreFailed(Message):
    """An undo did not happen: the archive entry goes back on the undo stack."""

    def __init__(self, entry_id: str) -> None:
        super().__init__()
        self.entry_id = entry_id


class UnexpectedError(Message):
    """A worker died of an error nobody expected: the app reports it and keeps running."""

    def __init__(self, worker_name: str, error: BaseException) -> None:
        super().__init__()
        self.worker_name = worker_name
        self.error = error
