"""A small forge API on 127.0.0.1 for the tests: canned answers by path, ETags, delays, and a request log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit


class Answer(NamedTuple):
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: Mapping[str, str] = MappingProxyType({})
    etag: str | None = None
    delay: float = 0.0


class Seen(NamedTuple):
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class ForgeServer:
    def __init__(self) -> None:
        self.routes: dict[str, Answer] = {}
        self.requests: list[Seen] = []
        self.release = threading.Event()  # set at teardown so a delayed answer ends at once
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                server.requests.append(Seen(parts.path, parse_qs(parts.query), dict(self.headers.items())))
                answer = server.routes.get(parts.path, Answer(404, {"message": "Not Found"}))
                if answer.delay:
                    server.release.wait(answer.delay)
                if answer.etag and self.headers.get("If-None-Match") == answer.etag:
                    self.send_response(304)
                    self.send_header("ETag", answer.etag)
                    self.end_headers()
                    return
                body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if answer.etag:
                    self.send_header("ETag", answer.etag)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]


@contextmanager
def forge_server() -> Iterator[ForgeServer]:
    server = ForgeServer()
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(timeout=5)


def github_pr(
    number: int,
    state: str = "open",
    merged: bool | None = False,
    ref: str = "fix/issue-12",
    owner: str = "shoko",
    repo: str = "kugetsu",
) -> dict[str, Any]:
    """GitHub's documented pull request (single-PR form carries `merged`; list items only `merged_at`)."""
    pr: dict[str, Any] = {
        "url": f"https://api.github.com/repos/{owner}/{repo}/pulls/{number}",
        "id": 1000 + number,
        "number": number,
        "state": state,
        "title": "Fix",
        "html_url": f"https://github.com/{owner}/{repo}/pull/{number}",
        "head": {"ref": ref, "sha": "abc", "label": f"{owner}:{ref}"},
        "base": {"ref": "main"},
        "merged_at": "2026-11-30T10:00:00Z" if merged else None,
    }
    if merged is not None:
        pr["merged"] = merged
    return pr


def gitea_pr(
    number: int,
    state: str = "open",
    merged: bool = False,
    ref: str = "fix/issue-12",
    host: str = "codeberg.example",
    owner: str = "shoko",
    repo: str = "kugetsu",
) -> dict[str, Any]:
    """Gitea/Forgejo's documented PullRequest object."""
    return {
        "id": 2000 + number,
        "number": number,
        "state": state,
        "merged": merged,
        "merged_at": "2026-11-30T10:00:00Z" if merged else None,
        "html_url": f"https://{host}/{owner}/{repo}/pulls/{number}",
        "head": {"ref": ref, "sha": "abc", "label": ref},
        "base": {"ref": "main"},
    }


def issue(
    number: int, state: str = "open", state_reason: str | None = None, host: str = "github.com"
) -> dict[str, Any]:
    return {
        "number": number,
        "state": state,
        "state_reason": state_reason,
        "title": "Bug",
        "html_url": f"https://{host}/shoko/kugetsu/issues/{number}",
    }
