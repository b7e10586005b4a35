"""A small REST client for forge APIs that never raises and never leaks the token.

Why it is careful:
- the token goes only in the Authorization header, added as an unredirected header so that a redirect to
  another host never carries it; no message, cache entry or log line is built from request headers;
- conditional requests (ETag / If-None-Match) and the rate-limit headers are honoured across runs: the
  cache in the home remembers bodies by URL and, per API origin, the time before which no request is sent;
- every failure (no network, timeout, 4xx, 5xx, a body that is not JSON) is a `Reply` with a reason.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.message import Message
from http.client import HTTPException
from pathlib import Path
from typing import Any, NamedTuple

from kugetsu_tui.base.atomic import write_json

DEFAULT_TIMEOUT = 5.0
MAX_BODY_BYTES = 8 * 1024 * 1024
CACHE_KEEP_SECONDS = 7 * 86400
#: how long to wait after a 429 or rate-limit 403 that names no time (GitHub asks for at least a minute)
DEFAULT_BACKOFF = 60.0
USER_AGENT = "kugetsu-tui"
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: a token that http.client would quote in an error is refused


class Reply(NamedTuple):
    """Parsed JSON, or why there is none."""

    data: Any = None
    error: str | None = None


class ForgeClient:
    """GET JSON from forge APIs; safe to share between threads of one check."""

    def __init__(
        self, cache_path: Path | None, *, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], float] = time.time
    ) -> None:
        self.timeout = timeout
        self._clock = clock
        self._cache_path = cache_path
        self._lock = threading.Lock()
        cache = _load_cache(cache_path)
        self._responses: dict[str, dict[str, Any]] = cache["responses"]
        self._blocked: dict[str, dict[str, Any]] = cache["blocked"]
        self._unreachable: dict[str, str] = {}  # origin -> reason, for this client's lifetime only
        self._changed = False

    def get_json(self, url: str, token: str | None) -> Reply:
        origin = _origin(url)
        with self._lock:
            refusal = self._refusal(origin)
            cached = self._responses.get(url)
        if refusal:
            return Reply(error=refusal)
        if token and not _safe_for_token(url):
            return Reply(error=f"the token is sent only over https (or to this machine), not to {origin}")
        if token and not _HEADER_SAFE.fullmatch(token):
            return Reply(error="the token in the environment has characters an HTTP header cannot carry")
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
        if cached and isinstance(cached.get("etag"), str):
            request.add_header("If-None-Match", cached["etag"])
        if token:
            request.add_unredirected_header("Authorization", f"token {token}")
        try:
            return self._exchange(request, url, origin)
        except urllib.error.HTTPError as exc:
            return self._http_error(exc, url, origin, cached)
        except (TimeoutError, urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
            reason = _network_reason(exc, origin, self.timeout)
            with self._lock:
                self._unreachable[origin] = reason
            return Reply(error=reason)

    def _refusal(self, origin: str) -> str | None:
        if origin in self._unreachable:
            return self._unreachable[origin]
        blocked = self._blocked.get(origin)
        if blocked and isinstance(blocked.get("until"), (int, float)) and self._clock() < blocked["until"]:
            until = time.strftime("%H:%M:%S UTC", time.gmtime(blocked["until"]))
            return f"{blocked.get('reason') or 'rate limited'}; no request to {origin} before {until}"
        return None

    def _exchange(self, request: urllib.request.Request, url: str, origin: str) -> Reply:
        deadline = time.monotonic() + self.timeout
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            self._note_rate_limit(origin, response.headers, response.status)
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(65536):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    return Reply(error=f"{origin} sent more than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
                if time.monotonic() > deadline:
                    raise TimeoutError("read timed out")
                chunks.append(chunk)
            etag = response.headers.get("ETag")
        try:
            data = json.loads(b"".join(chunks).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return Reply(error=f"{origin} answered {_path(url)} with something that is not JSON")
        data = kept_fields(data)
        with self._lock:
            if etag:
                self._responses[url] = {"etag": etag, "body": data, "seen": self._clock()}
                self._changed = True
            elif self._responses.pop(url, None) is not None:
                self._changed = True
        return Reply(data)

    def _http_error(self, exc: urllib.error.HTTPError, url: str, origin: str, cached: dict[str, Any] | None) -> Reply:
        headers = exc.headers if exc.headers is not None else Message()
        exc.close()
        if exc.code == 304:
            if cached is None or "body" not in cached:
                return Reply(error=f"{origin} answered 304 Not Modified for {_path(url)}, which was never fetched")
            with self._lock:
                cached["seen"] = self._clock()
                self._changed = True
            return Reply(cached["body"])
        limited = self._note_rate_limit(origin, headers, exc.code)
        if limited:
            return Reply(error=limited)
        what = _path(url)
        reasons = {
            401: f"{origin} refused the credentials (401) for {what}: check the token",
            403: f"{origin} forbade {what} (403)",
            404: f"{origin} has no {what} (404; a private repository needs a token)",
        }
        if exc.code in reasons:
            return Reply(error=reasons[exc.code])
        if exc.code >= 500:
            return Reply(error=f"{origin} failed with {exc.code} on {what}")
        return Reply(error=f"{origin} answered {exc.code} on {what}")

    def _note_rate_limit(self, origin: str, headers: Message, status: int) -> str | None:
        """Remember when the next request may go; return the reason when this reply was a refusal."""
        now = self._clock()
        until: float | None = None
        reason = f"rate limited by {origin} ({status})"
        retry_after = _retry_after(headers.get("Retry-After"), now)
        if retry_after is not None:
            until = retry_after
        elif headers.get("X-RateLimit-Remaining", "").strip() == "0":
            reset = headers.get("X-RateLimit-Reset", "").strip()
            until = float(reset) if reset.isdigit() else now + DEFAULT_BACKOFF
            reason = f"rate limit of {origin} used up"
        elif status == 429:
            until = now + DEFAULT_BACKOFF
        if until is None or until <= now:
            return None
        with self._lock:
            self._blocked[origin] = {"until": until, "reason": reason}
            self._changed = True
        refused = status in (403, 429) or status >= 500
        return self._refusal(origin) if refused else None

    def save(self) -> None:
        """Write what is worth keeping (recent bodies with an ETag, pending rate-limit waits) atomically."""
        if self._cache_path is None or not self._changed:
            return
        now = self._clock()
        with self._lock:
            data = {
                "responses": {
                    u: r
                    for u, r in self._responses.items()
                    if isinstance(r.get("seen"), (int, float)) and now - r["seen"] < CACHE_KEEP_SECONDS
                },
                "blocked": {
                    o: b
                    for o, b in self._blocked.items()
                    if isinstance(b.get("until"), (int, float)) and b["until"] > now
                },
            }
        try:
            write_json(self._cache_path, data)
        except OSError:
            pass  # a cache that cannot be written costs requests, never a result


#: What status.py reads of an issue or a pull request (and of each in a list); nothing else is kept, in
#: memory or in forge-cache.json: a forge that echoes the request's headers would put the token there.
KEPT_FIELDS = ("number", "state", "state_reason", "merged", "merged_at", "html_url")


def kept_fields(body: Any) -> Any:
    """A response body cut down to KEPT_FIELDS and `head.ref`; a list item that is not an object is dropped."""
    if isinstance(body, list):
        return [kept_fields(item) for item in body if isinstance(item, dict)]
    if not isinstance(body, dict):
        return None
    kept = {key: body[key] for key in KEPT_FIELDS if key in body and not isinstance(body[key], (dict, list))}
    if isinstance(body.get("head"), dict) and "ref" in body["head"]:
        kept["head"] = {"ref": body["head"]["ref"]}
    return kept


def _load_cache(path: Path | None) -> dict[str, dict[str, Any]]:
    empty: dict[str, dict[str, Any]] = {"responses": {}, "blocked": {}}
    if path is None:
        return empty
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return empty
    if not isinstance(data, dict):
        return empty
    cache = {
        key: {k: v for k, v in data[key].items() if isinstance(v, dict)} if isinstance(data.get(key), dict) else {}
        for key in empty
    }
    for response in cache["responses"].values():  # a cache written before KEPT_FIELDS: cut down too
        if "body" in response:
            response["body"] = kept_fields(response["body"])
    return cache


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _safe_for_token(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == "https" or parts.hostname in ("127.0.0.1", "::1", "localhost")


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path


def _retry_after(value: str | None, now: float) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + int(value)
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _network_reason(exc: BaseException, origin: str, timeout: float) -> str:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return f"no answer from {origin} within {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return f"cannot reach {origin}: {reason.strerror}"
    if isinstance(exc, HTTPException):
        return f"broken answer from {origin} ({type(exc).__name__})"
    if isinstance(exc, ValueError):
        return f"cannot ask {origin}: invalid request"  # never the message: it may quote a header
    return f"cannot reach {origin}: {reason}"
