"""Notifications (kugetsu_tui/attention/): `[notify]`, one per transition across processes, quiet for the selected
session, and the channels: a stand-in `notify-send` on PATH, the terminal's OSC sequences, and a webhook served by a
real HTTP server on 127.0.0.1 (one that answers, one that fails, one that hangs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kugetsu_tui.attention import channels
from kugetsu_tui.attention.channels import Notice, terminal_sequence
from kugetsu_tui.attention.notifier import Notifier
from kugetsu_tui.attention.record import claim, read_record, release
from kugetsu_tui.attention.settings import TRANSITIONS, NotifySettings, load_notify_settings
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from tests.helpers import PY, ROOT, wait_for, write_session

NAME = "github.com-acme-widgets-3"
ISSUE = "github.com/acme/widgets#3"
BUSY = ActivityInfo(Activity.BUSY, "output 3s ago")
ASKS = ActivityInfo(Activity.NEEDS_INPUT, "permission edit: src/app.py (per_1)")

#: A stand-in for notify-send: appends its argv, one JSON list a line, to $NOTIFY_RECORD.
NOTIFY_SEND = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["NOTIFY_RECORD"], "a") as out:
    out.write(json.dumps(sys.argv[1:]) + "\\n")
"""


@pytest.fixture(autouse=True)
def _senders_finish_in_their_own_test() -> Iterator[None]:
    """Wait for the channels' background senders at the end of each test: one that runs late would start the
    stand-in `notify-send` with the next test's PATH and NOTIFY_RECORD, and its call would land in that test."""
    yield
    for thread in threading.enumerate():
        if thread.name == "kugetsu-notify":
            thread.join(timeout=30)


@pytest.fixture
def desktop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in `notify-send` on PATH; the file it records its calls in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "notify-send").write_text(NOTIFY_SEND)
    (bin_dir / "notify-send").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    record = tmp_path / "notify-send.jsonl"
    monkeypatch.setenv("NOTIFY_RECORD", str(record))
    return record


def calls(record: Path) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


class Collected:
    def __init__(self) -> None:
        self.terminal: list[str] = []
        self.errors: list[str] = []


def notifier(home: Home, settings: NotifySettings | None = None) -> tuple[Notifier, Collected]:
    seen = Collected()
    made = Notifier(
        home, settings or NotifySettings(), write_terminal=seen.terminal.append, on_error=seen.errors.append
    )
    return made, seen


@pytest.fixture
def session(home: Home) -> Home:
    write_session(home, NAME, {"type": "forked", "issue_ref": ISSUE, "state": "running"})
    return home


# --- [notify] ---------------------------------------------------------------------------------------------


def test_the_defaults_notify_from_the_console_on_the_desktop_and_terminal_for_every_transition(home: Home) -> None:
    settings = load_notify_settings(home)
    assert settings.by == "console" and settings.webhook is None
    assert [settings.channels(t) for t in TRANSITIONS] == [["terminal", "desktop"]] * 5


def test_channels_and_transitions_are_configured_each(home: Home) -> None:
    home.config_toml.write_text(
        '[notify]\nby = "drain"\nterminal = false\ndesktop_on = ["error"]\n'
        'webhook = "http://127.0.0.1:9/hook"\nwebhook_on = ["needs_input", "idle"]\n'
    )
    settings = load_notify_settings(home)
    assert settings.by == "drain"
    assert settings.channels(Activity.ERROR) == ["desktop"]
    assert settings.channels(Activity.NEEDS_INPUT) == ["webhook"]
    assert settings.channels(Activity.STALLED) == []


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('by = "tmux"', 'by must be "console" or "drain"'),
        ('desktop_on = ["busy"]', "unknown transition 'busy'"),
        ("terminal = 1", "terminal must be true or false"),
        ('webhook = "ftp://secret-token@example.org/"', "webhook must be an http:// or https:// URL"),
        ("sound = true", "unknown key 'sound'"),
    ],
)
def test_a_wrong_key_is_one_line_and_never_repeats_the_webhook(home: Home, toml: str, words: str) -> None:
    home.config_toml.write_text(f"[notify]\n{toml}\n")
    with pytest.raises(KugetsuError, match=words) as raised:
        load_notify_settings(home)
    assert "secret-token" not in str(raised.value)


# --- one per transition -------------------------------------------------------------------------------------


def test_one_transition_notifies_once_on_the_desktop_and_the_terminal(session: Home, desktop: Path) -> None:
    first, seen = notifier(session)
    assert first.changed(NAME, ISSUE, BUSY, ASKS) == ["terminal", "desktop"]
    wait_for(lambda: calls(desktop))
    [argv] = calls(desktop)
    assert argv == ["--app-name=kugetsu-tui", "--", f"{ISSUE} needs input", ASKS.detail]
    assert seen.terminal == [f"\x1b]777;notify;{ISSUE} needs input;{ASKS.detail}\x07"]

    other, other_seen = notifier(session)  # another process on the same home sees the same change
    assert other.changed(NAME, ISSUE, BUSY, ASKS) == [] and other_seen.terminal == []
    assert first.changed(NAME, ISSUE, ASKS, ASKS._replace(detail="still waiting")) == []  # only the detail changed

    first.changed(NAME, ISSUE, ASKS, BUSY)  # answered: it left needs_input
    assert first.changed(NAME, ISSUE, BUSY, ASKS) == ["terminal", "desktop"]  # a new transition
    wait_for(lambda: len(calls(desktop)) == 2)


def test_a_first_sight_or_a_change_that_wants_nobody_is_no_notification(session: Home, desktop: Path) -> None:
    made, seen = notifier(session)
    assert made.changed(NAME, ISSUE, None, ASKS) == []  # already waiting when this process started: no news
    assert made.changed(NAME, ISSUE, ActivityInfo(Activity.IDLE), BUSY) == []
    assert made.changed(NAME, ISSUE, BUSY, ActivityInfo(Activity.IDLE)) == ["terminal", "desktop"]  # finished
    assert made.changed(NAME, ISSUE, ActivityInfo(Activity.UNKNOWN), ActivityInfo(Activity.IDLE)) == []


def test_the_selected_session_is_quiet_but_its_transition_is_claimed(session: Home, desktop: Path) -> None:
    console, seen = notifier(session)
    assert console.changed(NAME, ISSUE, BUSY, ASKS, quiet=True) == []
    other, other_seen = notifier(session)
    assert other.changed(NAME, ISSUE, BUSY, ASKS) == []  # the operator saw it in the console
    assert calls(desktop) == [] and seen.terminal == other_seen.terminal == []


def test_per_transition_settings_choose_the_channels(session: Home, desktop: Path) -> None:
    made, seen = notifier(session, NotifySettings(desktop_on=frozenset({Activity.ERROR}), terminal=False))
    assert made.changed(NAME, ISSUE, BUSY, ASKS) == []
    assert made.changed(NAME, ISSUE, ASKS, ActivityInfo(Activity.ERROR, "quota exceeded")) == ["desktop"]
    wait_for(lambda: calls(desktop))
    assert calls(desktop)[0][-2:] == [f"{ISSUE} hit an error", "quota exceeded"] and seen.terminal == []


CLAIMER = """
import sys
from kugetsu_tui.base.home import Home
from kugetsu_tui.attention.record import claim
sys.stdin.readline()  # all start together
from pathlib import Path
print(claim(Home(Path(sys.argv[1])), sys.argv[2], "needs_input"))
"""


def test_processes_racing_for_one_transition_notify_once(session: Home) -> None:
    procs = [
        subprocess.Popen(
            [PY, "-c", CLAIMER, str(session.root), NAME],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(8)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    answers = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert sorted(answers) == ["False"] * 7 + ["True"]
    assert read_record(session)[NAME]["activity"] == "needs_input"


def test_the_record_forgets_destroyed_sessions_and_a_release_of_the_same_activity_keeps_the_claim(
    session: Home,
) -> None:
    write_session(session, "gone", {"type": "forked", "state": "idle"})
    assert claim(session, "gone", "idle")
    session.session_path("gone").unlink()
    assert claim(session, NAME, "needs_input")
    assert set(read_record(session)) == {NAME}
    release(session, NAME, "needs_input")
    assert not claim(session, NAME, "needs_input")
    release(session, NAME, "busy")
    assert claim(session, NAME, "needs_input")


# --- the terminal -------------------------------------------------------------------------------------------


def test_the_terminal_gets_osc_9_where_it_speaks_it_and_never_an_escape_from_a_file() -> None:
    notice = Notice(NAME, ISSUE, "error", "evil\x1b]0;pwned\x07 hit an error", "bad;\x1b[31mred")
    osc777 = terminal_sequence(notice, {})
    assert osc777.startswith("\x1b]777;notify;") and osc777.endswith("\x07")
    assert osc777[1:-1].count("\x1b") == 0 and osc777.count("\x07") == 1  # the file's escapes are shown, not sent
    assert osc777.split(";")[:3] == [
        "\x1b]777",
        "notify",
        "evil\\x1b]0,pwned\\x07 hit an error",
    ]  # the title is one field
    osc9 = terminal_sequence(notice, {"TERM_PROGRAM": "iTerm.app"})
    assert osc9.startswith("\x1b]9;evil") and osc9[1:-1].count("\x1b") == 0


# --- the webhook --------------------------------------------------------------------------------------------


class Hook:
    """A webhook receiver on 127.0.0.1: `mode` is "ok" (200), "fail" (500) or "hang" (answers once released)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.bodies: list[Any] = []
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.bodies.append(json.loads(body))
                if hook.mode == "hang":
                    hook.release.wait(30)
                self.send_response(500 if hook.mode == "fail" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook/secret-token"


@contextmanager
def hook_server(mode: str) -> Iterator[Hook]:
    hook = Hook(mode)
    thread = threading.Thread(target=hook.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.release.set()
        hook.httpd.shutdown()
        hook.httpd.server_close()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels, "WEBHOOK_TIMEOUT", 0.5)
    monkeypatch.setattr(channels, "WEBHOOK_RETRY_DELAYS", (0.05, 0.05))


def webhook_only(url: str) -> NotifySettings:
    return NotifySettings(desktop=False, terminal=False, webhook=url)


def test_the_webhook_gets_session_issue_activity_and_reason(session: Home) -> None:
    with hook_server("ok") as hook:
        made, seen = notifier(session, webhook_only(hook.url))
        assert made.changed(NAME, ISSUE, BUSY, ASKS) == ["webhook"]
        wait_for(lambda: hook.bodies)
    assert hook.bodies == [{"session": NAME, "issue": ISSUE, "activity": "needs_input", "reason": ASKS.detail}]
    assert seen.errors == []


def test_a_failing_webhook_is_tried_three_times_and_said_once_without_its_url(session: Home, quick_retries) -> None:
    with hook_server("fail") as hook:
        made, seen = notifier(session, webhook_only(hook.url))
        made.changed(NAME, ISSUE, BUSY, ASKS)
        wait_for(lambda: seen.errors)
        assert len(hook.bodies) == 3
        made.changed(NAME, ISSUE, ASKS, BUSY)
        made.changed(NAME, ISSUE, BUSY, ASKS)
        wait_for(lambda: len(hook.bodies) == 6)
    wait_for(lambda: not any(t.name == "kugetsu-notify" for t in threading.enumerate()))  # every sender is done
    assert seen.errors == ["the webhook failed 3 times (last: HTTP 500); its URL is not shown"]  # once, not twice
    assert not any("secret-token" in e or "127.0.0.1" in e for e in seen.errors)


def test_a_webhook_that_hangs_never_blocks_the_caller(session: Home, quick_retries) -> None:
    with hook_server("hang") as hook:
        made, seen = notifier(session, webhook_only(hook.url))
        assert made.changed(NAME, ISSUE, BUSY, ASKS) == ["webhook"]  # returned while the receiver still hangs
        assert not hook.release.is_set()
        wait_for(lambda: seen.errors, timeout=15)
        assert seen.errors[0].startswith("the webhook failed 3 times (last: no answer within 0.5 s)")
        assert "secret-token" not in seen.errors[0]


# --- a headless host: queue drain --watch -------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_queue_drain_watch_notifies_when_by_is_drain(home: Home, tmp_path: Path, desktop: Path) -> None:
    from kugetsu_tui.base.process import start_time
    from tests.unit.queue_fixtures import Watcher

    with open(home.config_toml, "a") as config:
        config.write('\n[notify]\nby = "drain"\n')
    agent = subprocess.Popen([PY, "-c", "import time; time.sleep(120)"])
    try:
        log = home.log_path(NAME)
        home.ensure(home.logs_dir)
        log.write_text('{"type":"text","part":{"text":"working"}}\n')
        running = {"type": "forked", "issue_ref": ISSUE, "state": "running", "log": str(log)}
        write_session(home, NAME, running, pid=agent.pid, pid_started=start_time(agent.pid))
        env = {"PATH": os.environ["PATH"], "NOTIFY_RECORD": str(desktop)}
        with Watcher(home, tmp_path, env) as watcher:
            wait_for(lambda: "notifying of sessions" in watcher.output(), timeout=30, message="the notifier")
            assert calls(desktop) == []  # a session already at work when the drainer starts is no news
            # The supervisor's last word first, then the agent gone: killed first, a look of the drainer's in
            # between rightly sees a running session whose agent died (an error), not the finish under test.
            write_session(home, NAME, {**running, "state": "idle", "exit_code": 0})
            agent.kill()
            agent.wait()
            wait_for(lambda: calls(desktop), timeout=30, message="the desktop notification")
            assert calls(desktop)[0][-2:-1] == [f"{ISSUE} finished"]
            assert watcher.stop() == 0
    finally:
        agent.kill()
        agent.wait()


def test_the_drainers_look_survives_a_broken_config_and_says_so_once(session: Home) -> None:
    from kugetsu_tui.attention.watch import ActivityWatch

    made, seen = notifier(session)
    watch = ActivityWatch(session, made)
    session.config_toml.write_text("[agent]\nstall_after = -1\n")
    watch.look()
    watch.look()
    assert len(seen.errors) == 1 and "cannot read the sessions' activity" in seen.errors[0]
