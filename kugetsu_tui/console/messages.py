"""Messages the console's workers post: what they read, sampled or did, for the UI to show.

Workers never touch widgets: they post one of these (`post_message` is thread-safe) and a
handler on the UI side updates the model and the screen. Tests observe them with
`run_test(message_hook=...)`.

Each is a dataclass: its generated `__init__` calls `Message.__post_init__`, which is all that
`Message.__init__` does (the sender, the time, the propagation flags). `eq=False` and `repr=False`
keep Message's own identity and short repr: a message is one event, not a value, and Textual's
log writes the repr at every dispatch (a SessionsRead may hold 10,000 views).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

from kugetsu_tui.sessions.overview import SessionView

if TYPE_CHECKING:  # loaded when first used, not at start-up
    from kugetsu_tui.lifecycle.prune import PrunePlan
    from kugetsu_tui.opencode.usage import Usage
    from kugetsu_tui.queue.claims import DrainResult
    from kugetsu_tui.queue.items import QueueItem


@dataclass(eq=False, repr=False)
class SessionsRead(Message):
    """Session files re-read after a change (`rescan`: every file, so the count is recounted)."""

    fresh: list[SessionView]
    gone: list[str]
    rescan: bool


@dataclass(eq=False, repr=False)
class WatcherModeChanged(Message):
    """The watcher now uses inotify, polling, or waits for the sessions directory."""

    mode: str


@dataclass(eq=False, repr=False)
class ActionDone(Message):
    """A core action (start, continue, destroy, restore) finished: `text` says what happened, and
    `select` names the row the cursor should move to (a session just started)."""

    action: str
    text: str
    select: str | None = None


@dataclass(eq=False, repr=False)
class ActionRefused(Message):
    """The core refused an action (`at_capacity`: the cap said no) or it failed: `text` says why."""

    action: str
    text: str
    at_capacity: bool


@dataclass(eq=False, repr=False)
class ActionWarning(Message):
    """A core action went ahead but has something to say (e.g. the checkout's origin is another repository)."""

    action: str
    text: str


@dataclass(eq=False, repr=False)
class SessionsArchived(Message):
    """A destroy (of one session or a batch) archived these entries, of these sessions: `u` brings them
    all back."""

    entry_ids: list[str]
    session_names: list[str]
    warnings: list[str]


@dataclass(eq=False, repr=False)
class RestoreFailed(Message):
    """An undo did not bring these entries back: they go back on the undo stack."""

    entry_ids: list[str]


@dataclass(eq=False, repr=False)
class UnexpectedError(Message):
    """A worker died of an error nobody expected: the app reports it and keeps running."""

    worker_name: str
    error: BaseException


@dataclass(eq=False, repr=False)
class QueueRead(Message):
    """The queue's item files as just read."""

    items: list[QueueItem]


@dataclass(eq=False, repr=False)
class ParkedRead(Message):
    """The parked sessions as just read from `parked/`."""

    views: list[SessionView]


@dataclass(eq=False, repr=False)
class QueueDrained(Message):
    """A drain pass started (or failed to start) these items."""

    results: list[DrainResult]


@dataclass(eq=False, repr=False)
class WorkRead(Message):
    """The work-status cache as just read or checked (`checked`: a check ran, `error` if it could not)."""

    cache: dict[str, dict[str, Any]]
    checked: bool
    error: str | None = None


@dataclass(eq=False, repr=False)
class CleanupPlanned(Message):
    """A fresh check found these done sessions (and these done but busy ones): ask before destroying."""

    plan: PrunePlan
    diff_sizes: dict[str, str] = field(default_factory=dict)  # by session name: what its worktree holds


@dataclass(eq=False, repr=False)
class ServerFollowed(Message):
    """The opencode server answered (something changed, or it is back): `trouble` is "" then, else why not."""

    trouble: str


@dataclass(eq=False, repr=False)
class UsageRead(Message):
    """Tokens and cost by opencode session id, as the server counts them (empty when it could not say)."""

    by_session_id: dict[str, Usage]


@dataclass(eq=False, repr=False)
class ClusterBeat(Message):
    """A cluster heartbeat ended: `figure` is the footer's text ("cluster 2/3 on 3 hosts" or "cluster unreachable")."""

    figure: str
