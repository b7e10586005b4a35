"""A tiny OpenAI-compatible chat-completions server standing in for the model.

Stdlib only. It binds 127.0.0.1 on a free port and answers:

- ``GET /v1/models`` (and ``/models``): one model, ``fake``.
- ``POST /v1/chat/completions`` (and ``/chat/completions``): a deterministic
  text reply ``"ack: <last user message>"`` with ``finish_reason: "stop"``;
  streamed as SSE chunks (``data: {...}\\n\\n`` ... ``data: [DONE]\\n\\n``)
  when the request has ``"stream": true``, otherwise one JSON completion.
  Tools in the request are ignored unless the message asks for one (below).

Directives in the last user message script the model, for the server tests:

- ``[write NAME]``: the reply is a call of opencode's ``write`` tool (``filePath`` NAME,
  ``content`` "written by the fake model"); once the tool's result comes back, the reply is text.
  A whole message ``write PATH: TEXT`` does the same with TEXT as the content (the worktree tests).
- ``[slow SECONDS]``: the reply's chunks are spread over SECONDS, holding the session busy.
- ``[fail STATUS COUNT]``: the first COUNT requests for that message are answered with
  HTTP STATUS (429 or 500, say) and an OpenAI-style error body, so opencode retries.

Requests are counted (``server.requests``, ``server.completions``) and their
bodies kept (``server.bodies``) so tests can assert the model was called.
Set ``FAKE_MODEL_LOG=1`` (or pass ``log=True``) to print each request body to
stderr while debugging.

Run it by hand with ``python tests/opencode/fake_model.py`` to get a server
on a free port printed to stdout.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_ID = "fake"


def _text_of(content: Any) -> str:
    """The text of an OpenAI message ``content`` (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") in (None, "text", "input_text"):
                texts.append(str(part.get("text", "")))
            elif isinstance(part, str):
                texts.append(part)
        return "".join(texts)
    return str(content)


def last_user_message(body: dict[str, Any]) -> str | None:
    messages = body.get("messages") or []
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content")).strip()
    return None


_WRITE = re.compile(r"\[write ([^\]\s]+)\]")
_WRITE_LINE = re.compile(r"write (?P<path>[^\s:]+): (?P<content>[^\n]*)")
_SLOW = re.compile(r"\[slow ([0-9.]+)\]")
_FAIL = re.compile(r"\[fail ([0-9]{3}) ([0-9]+)\]")
WRITTEN_CONTENT = "written by the fake model"


def answered_by_tool(body: dict[str, Any]) -> bool:
    """The conversation ends with a tool's result: the model's tool call was run."""
    messages = body.get("messages") or []
    return bool(messages) and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool"


def offered_tools(body: dict[str, Any]) -> set[Any]:
    return {(tool.get("function") or {}).get("name") for tool in body.get("tools") or [] if isinstance(tool, dict)}


def write_request(body: dict[str, Any]) -> dict[str, str] | None:
    """The ``write`` call the last user message asks for: a ``[write NAME]`` directive anywhere, or a whole
    message ``write PATH: TEXT`` when the request offers the ``write`` tool (opencode's title request
    repeats the message without tools). None once the tool's result came back."""
    if answered_by_tool(body):
        return None
    text = last_user_message(body) or ""
    directive = _WRITE.search(text)
    if directive:
        return {"filePath": directive.group(1), "content": WRITTEN_CONTENT}
    # `opencode run MESSAGE` passes an argument that holds spaces on in double quotes.
    line = _WRITE_LINE.match(text.strip('"'))
    if line and "write" in offered_tools(body):
        return {"filePath": line.group("path"), "content": line.group("content") + "\n"}
    return None


def slow_seconds(body: dict[str, Any]) -> float:
    match = _SLOW.search(last_user_message(body) or "")
    return float(match.group(1)) if match else 0.0


def reply_for(body: dict[str, Any]) -> str:
    """The deterministic reply: ``ack: <last user message>``."""
    text = last_user_message(body)
    return "ack:" if text is None else f"ack: {text}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeModelServer
    protocol_version = "HTTP/1.1"

    # Quiet by default; BaseHTTPRequestHandler logs every request to stderr.
    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log:
            sys.stderr.write("[fake-model] " + (format % args) + "\n")

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server._count(self._path(), None)
        if self._path() in ("/v1/models", "/models"):
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "fake"}],
                },
            )
        else:
            self._send_json(404, {"error": {"message": f"not found: {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_unparsed": raw.decode(errors="replace")}
        if not isinstance(body, dict):
            body = {"_body": body}
        self.server._count(self._path(), body)
        if self.server.log:
            sys.stderr.write(f"[fake-model] POST {self.path} {json.dumps(body)[:20000]}\n")
        if self._path() not in ("/v1/chat/completions", "/chat/completions"):
            self._send_json(404, {"error": {"message": f"not found: {self.path}"}})
            return
        failure = self.server._failure_for(last_user_message(body) or "")
        if failure is not None:
            self._send_json(
                failure,
                {"error": {"message": f"fake model failure {failure}", "type": "server_error", "code": failure}},
            )
            return
        text = "done" if answered_by_tool(body) else reply_for(body)
        if self.server.delay:
            time.sleep(self.server.delay)
        if body.get("stream"):
            self._stream(body, text)
        else:
            self._send_json(200, self._completion(body, text))

    def _usage(self, body: dict[str, Any], text: str) -> dict[str, int]:
        prompt = max(1, len(json.dumps(body.get("messages") or [])) // 4)
        completion = max(1, len(text.split()))
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake-{self.server.completions}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": self._usage(body, text),
        }

    def _stream(self, body: dict[str, Any], text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        # No Content-Length: close the connection to end the body.
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        cid = f"chatcmpl-fake-{self.server.completions}"
        created = int(time.time())
        model = body.get("model") or MODEL_ID

        def chunk(delta: dict[str, Any], finish: str | None, **extra: Any) -> dict[str, Any]:
            payload = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            payload.update(extra)
            return payload

        words = text.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        events = [chunk({"role": "assistant", "content": ""}, None)]
        target = write_request(body)
        if target is not None:
            arguments = json.dumps(target)
            call = {
                "index": 0,
                "id": f"call_{cid}",
                "type": "function",
                "function": {"name": "write", "arguments": arguments},
            }
            events += [chunk({"tool_calls": [call]}, None), chunk({}, "tool_calls")]
        else:
            events += [chunk({"content": p}, None) for p in pieces]
            events.append(chunk({}, "stop"))
        pause = slow_seconds(body) / max(1, len(events))
        # The usage chunk (as with stream_options.include_usage): no choices.
        events.append(
            {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": self._usage(body, text),
            }
        )
        try:
            for event in events:
                self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                self.wfile.flush()
                if pause:
                    time.sleep(pause)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


class FakeModelServer(ThreadingHTTPServer):
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, log: bool | None = None, delay: float = 0.0):
        super().__init__((host, port), _Handler)
        self.log = bool(os.environ.get("FAKE_MODEL_LOG")) if log is None else log
        self.delay = delay
        self._lock = threading.Lock()
        self.requests = 0  # every request, any path
        self.completions = 0  # POSTs to chat/completions
        self.paths: list[str] = []
        self.bodies: list[dict[str, Any]] = []  # chat/completions bodies, in order
        self._thread: threading.Thread | None = None
        self._failures_sent: dict[str, int] = {}

    def _failure_for(self, message: str) -> int | None:
        """The HTTP status to fail this request with, per a ``[fail STATUS COUNT]`` directive."""
        match = _FAIL.search(message)
        if not match:
            return None
        with self._lock:
            sent = self._failures_sent.get(message, 0)
            if sent >= int(match.group(2)):
                return None
            self._failures_sent[message] = sent + 1
        return int(match.group(1))

    def _count(self, path: str, body: dict[str, Any] | None) -> None:
        with self._lock:
            self.requests += 1
            self.paths.append(path)
            if body is not None and path.endswith("/chat/completions"):
                self.completions += 1
                self.bodies.append(body)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def user_messages(self) -> list[str]:
        """The last user message of every chat/completions request so far."""
        with self._lock:
            bodies = list(self.bodies)
        return [last_user_message(body) or "" for body in bodies]

    def start(self) -> FakeModelServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-model", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


if __name__ == "__main__":
    srv = FakeModelServer(log=True).start()
    print(srv.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
