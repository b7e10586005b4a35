"""The agent command of a session run through opencode's server, in place of `opencode run`.

`opencode run` answers every permission ask itself with reject. A message sent through the server
(`prompt_async`) runs in the server instead, where an ask waits for the operator's answer. This
small program stands where `opencode run` stood, under our supervisor, so start and continue keep
every guarantee (the cap, the rollback, the wait for the first event, destroy stopping it): it forks
or picks the session, sends the message, prints the server's events for that session as JSON lines
(the first one carries the session id) and exits 0 when the session is idle again, 1 on an error.
SIGTERM aborts the session in the server.

Run as: python -m kugetsu_tui.opencode.server_run --server URL --directory D (--session ID | --fork BASE) -- MESSAGE
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from kugetsu_tui.opencode.server import NotFound, OpencodeServer, ServerEvent, ServerUnavailable

#: How long the server may stay unreachable before the run gives up.
GIVE_UP_AFTER = 300.0


def server_run_argv(
    url: str, directory: str, message: str, *, session: str | None = None, fork: str | None = None
) -> list[str]:
    """The argv that runs a message through the server (for the supervisor, instead of `opencode run`)."""
    target = ["--fork", fork] if fork else ["--session", session or ""]
    return [
        sys.executable,
        "-m",
        "kugetsu_tui.opencode.server_run",
        "--server",
        url,
        "--directory",
        directory,
        *target,
        "--",
        message,
    ]


def emit(kind: str, session_id: str, **fields: Any) -> None:
    print(
        json.dumps({"type": kind, "timestamp": int(time.time() * 1000), "sessionID": session_id, **fields}), flush=True
    )


def _error(message: str) -> dict[str, Any]:
    return {"name": "ServerRunError", "data": {"message": message}}


def describe(event: ServerEvent) -> str:
    props = event.properties
    if event.type == "permission.asked":
        patterns = ", ".join(p for p in props.get("patterns") or [] if isinstance(p, str))
        return f"permission asked: {props.get('permission')}{f': {patterns}' if patterns else ''} ({props.get('id')})"
    if event.type == "permission.replied":
        return f"permission {props.get('requestID')} answered: {props.get('reply')}"
    status = props.get("status")
    if event.type == "session.status" and isinstance(status, dict):
        if status.get("type") == "retry":
            return f"retry, attempt {status.get('attempt')}: {status.get('message')}"
        return str(status.get("type"))
    return event.type


def follow_until_idle(server: OpencodeServer, session_id: str, directory: str, message: str | None) -> int:
    """Send `message` (once) and print the session's events until it is idle; reconnects when the server goes away."""
    busy = False
    down_since: float | None = None
    delay = 0.5
    while True:
        try:
            with server.events() as stream:
                events = iter(stream)
                next(events)  # server.connected: from here on, no event of ours can be missed
                if message is not None:
                    server.prompt_async(session_id, message, directory)
                    message = None
                elif session_id not in server.statuses(directory):
                    emit("step_finish", session_id, part={"type": "step-finish", "reason": "idle"})
                    return 0  # it went idle while the server was out of reach
                down_since, delay = None, 0.5
                for event in events:
                    if event.properties.get("sessionID") != session_id:
                        continue
                    if event.type == "session.error":
                        error = event.properties.get("error")
                        emit("error", session_id, error=error if isinstance(error, dict) else _error(str(error)))
                        return 1
                    if event.type == "session.status":
                        busy = True
                    if event.type == "session.idle" and busy:
                        emit("step_finish", session_id, part={"type": "step-finish", "reason": "idle"})
                        return 0
                    if event.type in ("session.status", "permission.asked", "permission.replied", "question.asked"):
                        emit("server", session_id, event=event.type, text=describe(event))
        except NotFound:
            raise  # the session is gone: nothing to wait for
        except (ServerUnavailable, StopIteration) as exc:
            now = time.monotonic()
            down_since = down_since or now
            if now - down_since > GIVE_UP_AFTER:
                emit("error", session_id, error=_error(f"opencode server unreachable for {GIVE_UP_AFTER:.0f} s: {exc}"))
                return 1
            emit("server", session_id, event="unreachable", text=str(exc) or "the stream ended")
            time.sleep(delay)
            delay = min(15.0, delay * 2)


def run(url: str, directory: str, message: str, session: str | None, fork: str | None) -> int:
    server = OpencodeServer(url, timeout=30)  # the first request for a directory starts its instance
    sid = session or ""
    try:
        if fork:
            sid = server.fork(fork, directory)
        emit("step_start", sid, part={"type": "step-start"})  # the session id, for the supervisor
    except ServerUnavailable as exc:
        print(json.dumps({"type": "error", "sessionID": None, "error": _error(str(exc))}), flush=True)
        return 1

    def abort(signum: int, frame: object) -> None:
        try:
            server.abort(sid, directory)
        except ServerUnavailable:
            pass
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, abort)
    try:
        return follow_until_idle(server, sid, directory, message)
    except ServerUnavailable as exc:
        emit("error", sid, error=_error(str(exc)))
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kugetsu_tui.opencode.server_run")
    parser.add_argument("--server", required=True)
    parser.add_argument("--directory", required=True)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--session")
    target.add_argument("--fork")
    parser.add_argument("message", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    words = args.message[1:] if args.message[:1] == ["--"] else args.message
    return run(args.server, args.directory, " ".join(words), args.session, args.fork)


if __name__ == "__main__":
    sys.exit(main())
