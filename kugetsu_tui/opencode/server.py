"""A small client of `opencode serve` (stdlib http.client): status, pending asks, replies, prompts, events.

opencode keeps each session's live status in its server, per directory ("instance"): every call
names the directory in the `x-opencode-directory` header (without it the server answers for the
directory it was started in; the value is percent-encoded, which opencode decodes). Facts checked against opencode-ai 1.18.33 (tests/opencode/test_server.py):

- `GET /session/status` -> `{id: {"type": "busy"}}` or `{"type": "retry", "attempt", "message", "next"}`
  (`next` in epoch milliseconds); idle sessions are absent.
- `GET /permission` -> `[{"id": "per_…", "sessionID", "permission", "patterns", "metadata", "always", "tool"}]`,
  `GET /question` -> `[{"id": "que_…", "sessionID", "questions": [{"question", "header", "options"}]}]`.
- `POST /permission/{id}/reply` `{"reply": "once" | "always" | "reject"}` -> `true`; unknown id -> 404.
- `POST /session/{id}/prompt_async` `{"parts": [{"type": "text", "text"}]}` -> 204; unknown session -> 404.
- `POST /session/{id}/fork` `{}` -> the new session (`{"id", "directory", …}`); `POST /session/{id}/abort` -> `true`.
- `GET /global/health` -> `{"healthy": true, "version": "1.18.33"}`.
- `GET /session` -> the directory's sessions: `[{"id", "directory", "title", "cost",
  "tokens": {"input", "output", "reasoning", "cache": {"read", "write"}}, …}]`.
- `POST /instance/dispose` (directory in the header, or a `directory` query parameter) -> `true`, and a
  `server.instance.disposed` event; the server never frees an instance otherwise.
- `GET /global/event`: SSE, one `data: {"directory", "project", "payload": {"type", "properties"}}` per event,
  `server.connected` first (no directory), then a `server.heartbeat` event every 10 s (a `data:` event
  like the others, not an SSE comment); events in the first ~20 ms after connecting can be missed.

Every failure (refused, timed out, an answer not shaped as documented) is a `ServerUnavailable`
saying what happened: callers show `unknown` with that reason, never a traceback.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.opencode.settings import DEFAULT_EVENT_TIMEOUT

DIRECTORY_HEADER = "x-opencode-directory"
DEFAULT_TIMEOUT = 2.0
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class ServerUnavailable(KugetsuError):
    """The server could not be asked, or answered in a shape its API does not document."""


class StreamSilent(ServerUnavailable):
    """The event stream carried nothing, not even a heartbeat, for longer than its timeout: it is dead though open."""


class NotFound(ServerUnavailable):
    """The server answered 404: the session or request it names does not exist (any more)."""


class PermissionReply(StrEnum):
    ONCE = "once"
    ALWAYS = "always"
    REJECT = "reject"


class Permission(NamedTuple):
    """A permission the agent asked for and nobody answered yet."""

    id: str
    session_id: str
    permission: str
    patterns: tuple[str, ...]
    directory: str | None
    metadata: dict[str, Any]

    def describe(self) -> str:
        """`edit: src/app.py` — which permission, on which files or command."""
        return f"{self.permission}: {', '.join(self.patterns)}" if self.patterns else self.permission

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "permission": self.permission,
            "patterns": list(self.patterns),
            "directory": self.directory,
        }


class Question(NamedTuple):
    """A question the agent asked (opencode's question tool) and nobody answered yet."""

    id: str
    session_id: str
    text: str
    directory: str | None


class ServerEvent(NamedTuple):
    """One event of `/global/event`: the directory it happened in, its type and its properties."""

    directory: str | None
    type: str
    properties: dict[str, Any]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class OpencodeServer:
    """One opencode server, asked over plain HTTP with a timeout on every call."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise KugetsuError(f"opencode server {url!r}: expected http://HOST:PORT (opencode serve speaks plain HTTP)")
        try:
            self.port = parts.port or 80
        except ValueError:
            raise KugetsuError(f"opencode server {url!r}: invalid port") from None
        self.host = parts.hostname
        self.url = url.rstrip("/")
        self.timeout = timeout

    # --- plain requests --------------------------------------------------------------------

    def _request(self, method: str, path: str, directory: str | None = None, body: Any = None) -> Any:
        """The JSON answer (None for an empty one); a ServerUnavailable for anything else."""
        headers = {"Accept": "application/json"}
        if directory:
            headers[DIRECTORY_HEADER] = quote(directory, safe="/")
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        what = f"opencode server {self.url}: {method} {path}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_ANSWER_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise ServerUnavailable(f"{what}: {_failure_words(exc, self.timeout)}") from None
        finally:
            conn.close()
        if len(raw) > MAX_ANSWER_BYTES:
            raise ServerUnavailable(f"{what}: answer larger than {MAX_ANSWER_BYTES} bytes")
        if response.status == 404:
            raise NotFound(f"{what}: not found ({_error_words(raw)})")
        if not 200 <= response.status < 300:
            raise ServerUnavailable(f"{what}: HTTP {response.status} ({_error_words(raw)})")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ServerUnavailable(f"{what}: the answer is not JSON") from None

    def statuses(self, directory: str | None = None) -> dict[str, dict[str, Any]]:
        """Each session that is not idle, by id, with its status object (`{"type": "busy"}`, …)."""
        answer = self._request("GET", "/session/status", directory)
        if not isinstance(answer, dict) or not all(isinstance(v, dict) for v in answer.values()):
            raise ServerUnavailable(f"opencode server {self.url}: /session/status is not an object of statuses")
        return {str(k): v for k, v in answer.items()}

    def sessions(self, directory: str | None = None) -> list[dict[str, Any]]:
        """`GET /session`: the directory's sessions, each with its `tokens` and `cost`."""
        return self._list("/session", directory)

    def permissions(self, directory: str | None = None) -> list[Permission]:
        answer = self._list("/permission", directory)
        return [
            Permission(
                _text(p.get("id")),
                _text(p.get("sessionID")),
                _text(p.get("permission")),
                _texts(p.get("patterns")),
                directory,
                _dict(p.get("metadata")),
            )
            for p in answer
            if _text(p.get("id"))
        ]

    def questions(self, directory: str | None = None) -> list[Question]:
        answer = self._list("/question", directory)
        found = []
        for q in answer:
            if not _text(q.get("id")):
                continue
            asked = [_dict(item) for item in q.get("questions") or [] if isinstance(item, dict)]
            text = "; ".join(_text(item.get("question")) or _text(item.get("header")) for item in asked)
            found.append(Question(_text(q.get("id")), _text(q.get("sessionID")), text, directory))
        return found

    def _list(self, path: str, directory: str | None) -> list[dict[str, Any]]:
        answer = self._request("GET", path, directory)
        if not isinstance(answer, list):
            raise ServerUnavailable(f"opencode server {self.url}: {path} is not a list")
        return [item for item in answer if isinstance(item, dict)]

    def reply_question(self, request_id: str, answers: list[list[str]], directory: str | None = None) -> None:
        """Answer a question: for each of its questions, the labels chosen."""
        self._request("POST", f"/question/{quote(request_id, safe='')}/reply", directory, {"answers": answers})

    def reject_question(self, request_id: str, directory: str | None = None) -> None:
        self._request("POST", f"/question/{quote(request_id, safe='')}/reject", directory, {})

    def reply_permission(self, request_id: str, reply: PermissionReply, directory: str | None = None) -> None:
        self._request("POST", f"/permission/{quote(request_id, safe='')}/reply", directory, {"reply": str(reply)})

    def prompt_async(self, session_id: str, text: str, directory: str | None = None) -> None:
        """Send a message; the server runs it and returns at once (its permission asks wait for an answer)."""
        self._request(
            "POST",
            f"/session/{quote(session_id, safe='')}/prompt_async",
            directory,
            {"parts": [{"type": "text", "text": text}]},
        )

    def fork(self, session_id: str, directory: str | None = None) -> str:
        """Fork a session (in its directory); the new session's id."""
        answer = self._request("POST", f"/session/{quote(session_id, safe='')}/fork", directory, {})
        new_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise ServerUnavailable(f"opencode server {self.url}: the fork's answer has no session id")
        return new_id

    def abort(self, session_id: str, directory: str | None = None) -> None:
        self._request("POST", f"/session/{quote(session_id, safe='')}/abort", directory, {})

    def health_version(self) -> str | None:
        """The version `GET /global/health` names (`{"healthy": true, "version": "1.18.33"}`), None without one."""
        answer = self._request("GET", "/global/health")
        version = answer.get("version") if isinstance(answer, dict) else None
        return version if isinstance(version, str) and version else None

    def dispose(self, directory: str) -> None:
        """Free the server's instance of `directory` (its history stays; a later request starts it again)."""
        self._request("POST", "/instance/dispose", directory)

    # --- the event stream ------------------------------------------------------------------

    def events(self, idle_timeout: float = DEFAULT_EVENT_TIMEOUT) -> EventStream:
        """`/global/event` as parsed events; connects now (a ServerUnavailable if it cannot)."""
        return EventStream(self, idle_timeout)


def _failure_words(exc: Exception, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is `opencode serve` running?)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _error_words(raw: bytes) -> str:
    """The message of opencode's error bodies (`{"message"}`, `{"data": {"message"}}`), else the start of it."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw[:200].decode("utf-8", "replace").strip() or "no body"
    if isinstance(body, dict):
        message = body.get("message") or _dict(body.get("data")).get("message") or body.get("name")
        if isinstance(message, str):
            return message[:200]
    return str(body)[:200]


class EventStream:
    """An open `/global/event` stream. Iterate it for `ServerEvent`s; `stop()` (any thread) ends the iteration.

    The iteration ends quietly after `stop()`; a server that goes away (closed stream) raises
    ServerUnavailable, and a stream silent past `idle_timeout` (heartbeats are events: opencode sends
    `server.heartbeat` every 10 s) raises StreamSilent, so the caller can reconnect.
    """

    def __init__(self, server: OpencodeServer, idle_timeout: float) -> None:
        self.server = server
        self._stopped = False
        self._conn = http.client.HTTPConnection(server.host, server.port, timeout=server.timeout)
        what = f"opencode server {server.url}: GET /global/event"
        self._sock: socket.socket | None = None
        try:
            self._conn.request("GET", "/global/event", headers={"Accept": "text/event-stream"})
            # Kept here: the connection forgets its socket when the answer says `Connection: close`
            # (the response reads on), and then neither the idle timeout nor stop() would reach it.
            self._sock = self._conn.sock
            self._response = self._conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise ServerUnavailable(f"{what}: {_failure_words(exc, server.timeout)}") from None
        if self._response.status != 200:
            self._response.close()
            self._conn.close()
            raise ServerUnavailable(f"{what}: HTTP {self._response.status}")
        if self._sock is not None:
            self._sock.settimeout(idle_timeout)
        self._what = what
        self._idle_timeout = idle_timeout

    def stop(self) -> None:
        """End the iteration (from any thread): the blocked read returns at once."""
        self._stopped = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.stop()
        self._response.close()
        self._conn.close()
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[ServerEvent]:
        data: list[str] = []
        while True:
            try:
                raw = self._response.readline()
            except TimeoutError:
                if self._stopped:
                    return
                raise StreamSilent(
                    f"{self._what}: no event (not even a heartbeat) for {self._idle_timeout:g} s"
                ) from None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                if self._stopped:
                    return
                raise ServerUnavailable(f"{self._what}: the stream broke ({exc})") from None
            if not raw:
                if self._stopped:
                    return
                raise ServerUnavailable(f"{self._what}: the server closed the stream")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif not line and data:
                event = parse_global_event("\n".join(data))
                data = []
                if event is not None:
                    yield event


def parse_global_event(text: str) -> ServerEvent | None:
    """One `/global/event` data field as a ServerEvent; None when it is not shaped as one."""
    try:
        outer = json.loads(text)
    except ValueError:
        return None
    payload = _dict(outer.get("payload")) if isinstance(outer, dict) else {}
    kind = payload.get("type")
    if not isinstance(kind, str):
        return None
    directory = outer.get("directory")
    return ServerEvent(
        directory if isinstance(directory, str) and directory != "global" else None,
        kind,
        _dict(payload.get("properties")),
    )
