"""Activities as opencode's server reports them: a snapshot of every directory, kept current by events.

`snapshot` asks `/session/status`, `/permission` and `/question` once per directory; an
`ActivityTracker` starts from a snapshot and applies `/global/event` events as they arrive;
`follow` keeps a tracker fed across server restarts and dead streams (a watchdog on the stream's
silence; reconnect with backoff, then a fresh snapshot, so nothing stays stale). The console runs
`follow` in a worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from kugetsu_tui.opencode.server import OpencodeServer, Permission, Question, ServerEvent, ServerUnavailable
from kugetsu_tui.opencode.settings import DEFAULT_EVENT_TIMEOUT
from kugetsu_tui.opencode.version import server_problem
from kugetsu_tui.sessions.activities import Activity, ActivityInfo

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 15.0


def status_activity(status: dict[str, Any], now: float) -> ActivityInfo:
    """One `/session/status` value as an activity; a retry says which attempt, why and when the next try is."""
    kind = status.get("type")
    if kind == "busy":
        return ActivityInfo(Activity.BUSY, "", now)
    if kind == "retry":
        attempt = status.get("attempt")
        message = status.get("message") if isinstance(status.get("message"), str) else ""
        upcoming = status.get("next")
        detail = f"attempt {attempt}: {message}" if attempt is not None else str(message)
        if isinstance(upcoming, (int, float)) and not isinstance(upcoming, bool):
            wait = upcoming / 1000 - now
            detail += f", next try in {max(0, round(wait))} s"
        return ActivityInfo(Activity.RETRY, detail, now)
    if kind == "idle":
        return ActivityInfo(Activity.IDLE, "", now)
    return ActivityInfo(Activity.UNKNOWN, f"status {kind!r} not known to this version", now)


def ask_activity(ask: Permission | Question, now: float) -> ActivityInfo:
    if isinstance(ask, Permission):
        return ActivityInfo(Activity.NEEDS_INPUT, f"permission {ask.describe()} ({ask.id})", now)
    return ActivityInfo(Activity.NEEDS_INPUT, f"question: {ask.text} ({ask.id})", now)


class Snapshot(NamedTuple):
    """What the server says now: non-idle statuses and pending asks, for the directories asked."""

    statuses: dict[str, dict[str, Any]]
    permissions: list[Permission]
    questions: list[Question]
    taken_at: float

    def activity(self, session_id: str) -> ActivityInfo:
        """A pending ask wins over the status (the session shows `busy` while it waits for the answer)."""
        asks: list[Permission | Question] = [*self.permissions, *self.questions]
        for ask in asks:
            if ask.session_id == session_id:
                return ask_activity(ask, self.taken_at)
        status = self.statuses.get(session_id)
        if status is None:
            return ActivityInfo(Activity.IDLE, "", None)
        return status_activity(status, self.taken_at)._replace(since=None)


def snapshot(server: OpencodeServer, directories: Iterable[str | None]) -> Snapshot:
    """Ask every directory once (None: the server's own); raises ServerUnavailable on the first failure."""
    statuses: dict[str, dict[str, Any]] = {}
    permissions: list[Permission] = []
    questions: list[Question] = []
    seen_permissions: set[str] = set()
    seen_questions: set[str] = set()
    for directory in dict.fromkeys(directories):
        statuses.update(server.statuses(directory))
        for permission in server.permissions(directory):
            if permission.id not in seen_permissions:
                seen_permissions.add(permission.id)
                permissions.append(permission)
        for question in server.questions(directory):
            if question.id not in seen_questions:
                seen_questions.add(question.id)
                questions.append(question)
    return Snapshot(statuses, permissions, questions, time.time())


class ActivityTracker:
    """Each session's activity by opencode session id, from a snapshot plus the events since. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._activities: dict[str, ActivityInfo] = {}
        self._asks: dict[str, Permission | Question] = {}

    def reset(self, snap: Snapshot) -> None:
        with self._lock:
            asks: list[Permission | Question] = [*snap.permissions, *snap.questions]
            self._asks = {ask.id: ask for ask in asks}
            self._activities = {sid: status_activity(status, snap.taken_at) for sid, status in snap.statuses.items()}
            for ask in self._asks.values():
                self._activities[ask.session_id] = ask_activity(ask, snap.taken_at)

    def activity(self, session_id: str) -> ActivityInfo:
        with self._lock:
            return self._activities.get(session_id, ActivityInfo(Activity.IDLE))

    def pending(self) -> list[Permission | Question]:
        with self._lock:
            return list(self._asks.values())

    def apply(self, event: ServerEvent, now: float | None = None) -> str | None:
        """Apply one event; returns the session id whose activity changed, or None."""
        now = time.time() if now is None else now
        props = event.properties
        sid = props.get("sessionID")
        if not isinstance(sid, str):
            return None
        with self._lock:
            before = self._activities.get(sid)
            after = self._next(event, sid, now)
            if after is None or (before is not None and before[:2] == after[:2]):
                return None
            self._activities[sid] = after
            return sid

    def _next(self, event: ServerEvent, sid: str, now: float) -> ActivityInfo | None:
        props = event.properties
        kind = event.type
        if kind == "permission.asked":
            ask = Permission(
                str(props.get("id") or ""),
                sid,
                str(props.get("permission") or ""),
                tuple(p for p in props.get("patterns") or [] if isinstance(p, str)),
                event.directory,
                _as_dict(props.get("metadata")),
            )
            self._asks[ask.id] = ask
            return ask_activity(ask, now)
        if kind == "question.asked":
            asked = [q for q in props.get("questions") or [] if isinstance(q, dict)]
            question = Question(
                str(props.get("id") or ""), sid, "; ".join(str(q.get("question") or "") for q in asked), event.directory
            )
            self._asks[question.id] = question
            return ask_activity(question, now)
        if kind in ("permission.replied", "question.replied", "question.rejected"):
            self._asks.pop(str(props.get("requestID") or ""), None)
            waiting = [a for a in self._asks.values() if a.session_id == sid]
            return ask_activity(waiting[0], now) if waiting else ActivityInfo(Activity.BUSY, "", now)
        if kind == "session.status" and isinstance(props.get("status"), dict):
            if any(a.session_id == sid for a in self._asks.values()):
                return None  # still waiting for an answer: the ask says more than "busy"
            return status_activity(props["status"], now)
        if kind == "session.idle":
            return ActivityInfo(Activity.IDLE, "", now)
        if kind == "session.error":
            return ActivityInfo(Activity.ERROR, _error_text(props.get("error")), now)
        return None


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        data = error.get("data")
        message = data.get("message") if isinstance(data, dict) else None
        return str(message or error.get("name") or "error")
    return str(error or "error")


def follow(
    server: OpencodeServer,
    tracker: ActivityTracker,
    directories: Callable[[], Iterable[str | None]],
    stop: threading.Event,
    on_change: Callable[[str | None], None],
    on_down: Callable[[str], None],
    *,
    event_timeout: float = DEFAULT_EVENT_TIMEOUT,
    resync: threading.Event | None = None,
) -> None:
    """Keep `tracker` current until `stop` is set: after every (re)connect a fresh snapshot, then events.

    The watchdog: opencode sends a heartbeat event every 10 s, so a stream that carries nothing for
    `event_timeout` seconds is dead though open (opencode #39352); it is dropped and the follower
    reconnects, as it does when the server closes the stream mid-turn (#38458). Neither is reported
    as the server being down unless reconnecting fails. `resync` (set from any thread) asks for the
    same at once: the console sets it when a busy contradicts the process evidence.
    `on_change(session_id)` after each change (None after a snapshot: anything may have changed);
    `on_down(reason)` each time the server cannot be reached, before waiting (0.5 s, doubling to 15 s).
    Returns when `stop` is set; never raises ServerUnavailable.
    """
    delay = BACKOFF_FIRST
    while not stop.is_set():
        followed = False  # a snapshot was taken on this connection: it was up
        try:
            with server.events(event_timeout) as stream:
                ended = threading.Event()
                threading.Thread(target=_stop_when, args=(stop, resync, ended, stream.stop), daemon=True).start()
                try:
                    problem = server_problem(server)
                    if problem:
                        raise ServerUnavailable(problem)
                    events = iter(stream)
                    next(events, None)  # server.connected: the events from here on reach us
                    tracker.reset(snapshot(server, directories()))
                    followed = True
                    on_change(None)
                    delay = BACKOFF_FIRST
                    for event in events:
                        changed = tracker.apply(event)
                        if changed is not None:
                            on_change(changed)
                finally:
                    ended.set()
            if stop.is_set():
                return
            continue  # the stream was stopped for a resync: reconnect now
        except ServerUnavailable as exc:
            if stop.is_set():
                return
            if not followed:
                on_down(str(exc))
        stop.wait(delay)
        if not followed:
            delay = min(BACKOFF_MAX, delay * 2)


def _stop_when(
    stop: threading.Event, resync: threading.Event | None, ended: threading.Event, stop_stream: Callable[[], None]
) -> None:
    """Unblock the stream's read when `stop` or `resync` is set; go away when the stream ended by itself."""
    while not ended.is_set():
        if stop.wait(0.2) or (resync is not None and resync.is_set()):
            if resync is not None:
                resync.clear()
            stop_stream()
            return
