"""An agent's activity from its own output, for when no opencode server is configured.

The log's modification time is the time of the agent's last event: a running agent silent longer
than `[agent] stall_after` is `stalled`. A permission opencode refused (`opencode run` rejects every
ask by itself) is `denied`: an agent denied its edits is not doing its work. One stat per call; the
log's tail is read again only when the log changed.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.text import age
from kugetsu_tui.opencode.events import DENIAL_MARK, denied_permission, parse_event
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.overview import SessionView
from kugetsu_tui.sessions.states import State

TAIL_BYTES = 64 * 1024
#: The last answer per log, by (size, mtime, run start): one dict operation each way, safe across the
#: console's threads without a lock (threading would cost the CLI's start-up time).
_denials: dict[str, tuple[int, int, float, tuple[str, float] | None]] = {}


def log_path(home: Home, view: SessionView) -> Path:
    recorded = view.session.log
    return Path(recorded) if recorded else home.log_path(view.session.name)


def present_logs(home: Home) -> frozenset[str] | None:
    """The names in the logs directory, listed once for many `log_activity` calls (None: unknown)."""
    try:
        return frozenset(os.listdir(home.logs_dir))
    except FileNotFoundError:
        return frozenset()
    except OSError:
        return None


def log_activity(
    home: Home, view: SessionView, stall_after: float, now: float | None = None, present: frozenset[str] | None = None
) -> ActivityInfo:
    """What the session's agent is doing, as far as its file and its log tell.

    `present` (from `present_logs`) spares the stat of a log in our logs directory that is not
    there: `ls --json` at 10,000 sessions made 10,000 stats for nothing.
    """
    now = time.time() if now is None else now
    state = view.shown_state
    log, info = None, None
    if view.session.log or present is None or f"{view.session.name}.log" in present:
        log = log_path(home, view)
        try:
            info = os.stat(log)
        except OSError:
            pass
    denial = None
    if log is not None and info is not None:
        denial = _last_denial(log, info, _timestamp(view.session.data.get("first_event_at")))
    if state in (State.RUNNING, State.IDLE) and denial is not None:
        return ActivityInfo(Activity.DENIED, denial[0], denial[1])
    if state == State.RUNNING:
        if info is None:
            return ActivityInfo(Activity.BUSY, "no output yet")
        silent = now - info.st_mtime
        if silent > stall_after:
            return ActivityInfo(
                Activity.STALLED,
                f"silent for {age(silent)}: no output for longer than stall_after ({stall_after:g} s); check its "
                f"log {log}, the model provider, and that it runs in its opencode session's directory",
                info.st_mtime,
            )
        return ActivityInfo(Activity.BUSY, f"output {age(silent)} ago", info.st_mtime)
    if state == State.STARTING:
        return ActivityInfo(Activity.BUSY, "starting")
    if state == State.IDLE:
        return ActivityInfo(Activity.IDLE, "", info.st_mtime if info else None)
    if state in (State.FAILED, State.TIMEOUT):
        return ActivityInfo(Activity.ERROR, view.error or str(state), info.st_mtime if info else None)
    return ActivityInfo(Activity.UNKNOWN, f"no agent of ours runs (session {state})")


def _timestamp(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _last_denial(log: Path, info: os.stat_result, run_started: float | None) -> tuple[str, float] | None:
    """The last refused permission of the current run in the log's tail (cached by size and mtime)."""
    key = str(log)
    cached = _denials.get(key)
    if cached is not None and cached[:3] == (info.st_size, info.st_mtime_ns, run_started or 0.0):
        return cached[3]
    found = None
    try:
        with open(log, "rb") as handle:
            handle.seek(max(0, info.st_size - TAIL_BYTES))
            tail = handle.read(TAIL_BYTES)
    except OSError:
        tail = b""
    for line in tail.splitlines() if DENIAL_MARK in tail else ():
        if DENIAL_MARK not in line:
            continue
        event = parse_event(line)
        if event is None:
            continue
        words = denied_permission(event)
        stamp = event.get("timestamp")
        when = stamp / 1000 if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) else info.st_mtime
        if words is not None and (run_started is None or when >= run_started - 1):
            found = (words, when)
    _denials[key] = (info.st_size, info.st_mtime_ns, run_started or 0.0, found)
    return found
