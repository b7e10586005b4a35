"""The channels a notification goes out by: the desktop (notify-send), the terminal (OSC 777 / OSC 9), a webhook.

Each sender takes a `Notice` and raises nothing: a failure is returned as one line for the caller to
show. The desktop and the webhook run in a thread of their own (`send_in_background`): a slow
notify-send or a webhook that hangs never blocks the console or the drainer. The webhook's URL can
hold a token: no message ever names it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from kugetsu_tui.base.text import printable

APP_NAME = "kugetsu-tui"
DESKTOP_TIMEOUT = 5.0
WEBHOOK_TIMEOUT = 3.0  # seconds per attempt
WEBHOOK_RETRY_DELAYS = (0.5, 1.5)  # between the attempts: three in all


class Notice(NamedTuple):
    """One notification: about which session, what it entered, and the words to show."""

    session: str  # the session file's name
    issue: str | None  # its issue ref, when the file names one
    activity: str  # the activity it entered (the transition's name)
    title: str  # `github.com/acme/widgets#21 needs input`
    reason: str  # what happened, in a line: the activity's detail, or what it means

    def payload(self) -> dict[str, str | None]:
        """The webhook's JSON body."""
        return {"session": self.session, "issue": self.issue, "activity": self.activity, "reason": self.reason}


def _plain(text: str) -> str:
    """No control characters (shown escaped): nothing from a session file can steer the terminal or notify-send."""
    return printable(text)


def terminal_sequence(notice: Notice, environ: dict[str, str] | None = None) -> str:
    """The escape sequence that makes the terminal show `notice`: OSC 9 where the terminal speaks it
    (iTerm2, Windows Terminal, ConEmu), else OSC 777 (`notify;TITLE;BODY`: foot, urxvt, WezTerm, Ghostty…)."""
    environ = dict(os.environ) if environ is None else environ
    title = _plain(notice.title).replace(";", ",")
    body = _plain(notice.reason)
    if environ.get("TERM_PROGRAM") == "iTerm.app" or "WT_SESSION" in environ or "ConEmuPID" in environ:
        return f"\x1b]9;{title}: {body}\x07"
    return f"\x1b]777;notify;{title};{body}\x07"


def desktop_argv(notice: Notice) -> list[str] | None:
    """notify-send's argv for `notice`, or None when notify-send is not on PATH."""
    program = shutil.which("notify-send")
    if program is None:
        return None
    return [program, f"--app-name={APP_NAME}", "--", _plain(notice.title), _plain(notice.reason)]


def send_desktop(notice: Notice) -> str | None:
    argv = desktop_argv(notice)
    if argv is None:
        return None  # no desktop here: nothing to say
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=DESKTOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"notify-send did not finish within {DESKTOP_TIMEOUT:g} s"
    except OSError as exc:
        return f"notify-send could not run: {exc.strerror or exc}"
    if done.returncode != 0:
        words = _plain(done.stderr.decode("utf-8", "replace").strip())[:200] or "no message"
        return f"notify-send exited {done.returncode}: {words}"
    return None


def send_webhook(url: str, notice: Notice) -> str | None:
    """POST the notice as JSON; a few tries, a short timeout each. The failure's words never name the URL."""
    import urllib.error
    import urllib.request

    timeout, delays = WEBHOOK_TIMEOUT, WEBHOOK_RETRY_DELAYS

    body = json.dumps(notice.payload()).encode("utf-8")
    waits = [*delays, None]
    failure = ""
    for wait in waits:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": APP_NAME}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                answer.read(64 * 1024)
            return None
        except urllib.error.HTTPError as exc:
            failure = f"HTTP {exc.code}"
        except (TimeoutError, OSError, ValueError) as exc:
            failure = _network_words(exc, timeout)
        if wait is not None:
            time.sleep(wait)
    return f"the webhook failed {len(waits)} times (last: {failure}); its URL is not shown"


def _network_words(exc: BaseException, timeout: float) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__


def send_in_background(senders: list[Callable[[], str | None]], on_error: Callable[[str], None]) -> threading.Thread:
    """Run the senders one after another in a daemon thread; each failure goes to `on_error`."""

    def run() -> None:
        for send in senders:
            try:
                failure = send()
            except Exception as exc:  # noqa: BLE001 - a notification never takes its process down
                failure = f"{type(exc).__name__}"
            if failure:
                on_error(failure)

    thread = threading.Thread(target=run, name="kugetsu-notify", daemon=True)
    thread.start()
    return thread
