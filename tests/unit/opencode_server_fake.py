"""A stand-in for `opencode serve` on 127.0.0.1: canned answers by method and path, an SSE stream
per connection (each opens with server.connected, then gets what the test broadcasts), and a log of requests (path, headers, body). For the client's error handling; the
real server's behaviour is checked in tests/opencode/test_server.py."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple


class Answer(NamedTuple):
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    delay: float = 0.0


class Seen(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeOpencodeServer:
    def __init__(self, port: int = 0) -> None:
        self.routes: dict[tuple[str, str], Answer] = {}
        self.requests: list[Seen] = []
        self.streams: list[queue.Queue[bytes | None]] = []  # one per open /global/event; None closes it
        self._lock = threading.Lock()
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake.requests.append(
                    Seen(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw else None,
                    )
                )
                if (self.command, self.path) == ("GET", "/global/event"):
                    self._stream()
                    return
                answer = fake.routes.get((self.command, self.path), Answer(404, {"message": "no such route"}))
                if answer.delay:
                    fake.release.wait(answer.delay)
                body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                if answer.body is None:
                    body = b""
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def _stream(self) -> None:
                events: queue.Queue[bytes | None] = queue.Queue()
                events.put(b'data: {"payload": {"type": "server.connected", "properties": {}}}\n\n')
                with fake._lock:
                    fake.streams.append(events)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                while True:
                    chunk = events.get()
                    if chunk is None:
                        return
                    try:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    except OSError:
                        return

            do_GET = _handle
            do_POST = _handle

        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def broadcast(self, chunk: bytes | None) -> None:
        """Send raw bytes to every open stream (None closes them)."""
        with self._lock:
            streams = list(self.streams)
            if chunk is None:
                self.streams.clear()
        for events in streams:
            events.put(chunk)

    def send_event(self, payload: dict[str, Any], directory: str | None = "/proj") -> None:
        data = {"directory": directory, "project": "p", "payload": payload} if directory else {"payload": payload}
        self.broadcast(b"data: " + json.dumps(data).encode() + b"\n\n")


@contextmanager
def fake_opencode_server(port: int = 0) -> Iterator[FakeOpencodeServer]:
    fake = FakeOpencodeServer(port)
    thread = threading.Thread(target=fake.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        fake.broadcast(None)
        fake.httpd.shutdown()
        fake.httpd.server_close()
