"""Messages the console's workers post: what they read, sampled or did, for the UI to show.

Workers never touch widgets: they post one of these (`post_message` is thread-safe) and a
handler on the UI side updates the model and the screen. Tests observe them with
`run_test(message_hook=...)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

from kugetsu_tui.sessions.overview import SessionView

if TYPE_CHECKING:  # loaded when first used, not at start-up
    from kugetsu_tui.lifecycle.prune import PrunePlan
    from kugetsu_tui.queue.claims import DrainResult
    from kugetsu_tui.queue.items import QueueItem


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


class ActionDone(Message):
    """A core action (start, continue, destroy, restore) finished: `text` says what happened, and
    `select` names the row the cursor should move to (a session just started)."""

    def __init__(self, action: str, text: str, select: str | None = None) -> None:
        super().__init__()
        self.action = action
        self.text = text
        self.select = select


class ActionRefused(Message):
    """The core refused an action (`at_capacity`: the cap said no) or it failed: `text` says why."""

    def __init__(self, action: str, text: str, at_capacity: bool) -> None:
        super().__init__()
        self.action = action
        self.text = text
        self.at_capacity = at_capacity


class ActionWarning(Message):
    """A core action went ahead but has something to say (e.g. the checkout's origin is another repository)."""

    def __init__(self, action: str, text: str) -> None:
        super().__init__()
        self.action = action
        self.text = text


class SessionsArchived(Message):
    """A destroy (of one session or a batch) archived these entries: `u` brings them all back."""

    def __init__(self, entry_ids: list[str], warnings: list[str]) -> None:
        super().__init__()
        self.entry_ids = entry_ids
        self.warnings = warnings


class RestoreFailed(Message):
    """An undo did not bring these entries back: they go back on the undo stack."""

    def __init__(self, entry_ids: list[str]) -> None:
        super().__init__()
        self.entry_ids = entry_ids


class UnexpectedError(Message):
    """A worker died of an error nobody expected: the app reports it and keeps running."""

    def __init__(self, worker_name: str, error: BaseException) -> None:
        super().__init__()
        self.worker_name = worker_name
        self.error = error


class QueueRead(Message):
    """The queue's item files as just read."""

    def __init__(self, items: list[QueueItem]) -> None:
        super().__init__()
        self.items = items


class QueueDrained(Message):
    """A drain pass started (or failed to start) these items."""

    def __init__(self, results: list[DrainResult]) -> None:
        super().__init__()
        self.results = results


class WorkRead(Message):
    """The work-status cache as just read or checked (`checked`: a check ran, `error` if it could not)."""

    def __init__(self, cache: dict[str, dict[str, Any]], checked: bool, error: str | None = None) -> None:
        super().__init__()
        self.cache = cache
        self.checked = checked
        self.error = error


class CleanupPlanned(Message):
    """A fresh check found these done sessions (and these done but busy ones): ask before destroying."""

    def __init__(self, plan: PrunePlan) -> None:
        super().__init__()
        self.plan = plan


class ServerFollowed(Message):
    """The opencode server answered (something changed, or it is back): `trouble` is "" then, else why not."""

    def __init__(self, trouble: str) -> None:
        super().__init__()
        self.trouble = trouble
