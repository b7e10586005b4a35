"""Status that cannot go stale: stand-in opencode servers (real HTTP on 127.0.0.1) whose event stream goes silent,
closes mid-turn, or whose /session/status keeps a busy after the agent ended. The follower reconnects and takes a
fresh snapshot without calling the server down; a busy the process evidence contradicts is not shown."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.server import OpencodeServer
from kugetsu_tui.opencode.server_activity import ActivityTracker, follow
from kugetsu_tui.opencode.settings import load_agent_config
from kugetsu_tui.sessions.activities import Activity
from tests.helpers import PY, run_cli, wait_for, write_session
from tests.unit.opencode_server_fake import Answer, FakeOpencodeServer, fake_opencode_server

NAME = "github.com-shoko-kugetsu-7"
SID = "ses_seven"
BUSY = {SID: {"type": "busy"}}


def serve_status(fake: FakeOpencodeServer, statuses: dict[str, dict[str, str]]) -> None:
    fake.routes[("GET", "/session/status")] = Answer(body=statuses)
    fake.routes[("GET", "/permission")] = Answer(body=[])
    fake.routes[("GET", "/question")] = Answer(body=[])


def connections(fake: FakeOpencodeServer) -> int:
    return sum(1 for r in list(fake.requests) if r.path == "/global/event")


class Following(NamedTuple):
    tracker: ActivityTracker
    downs: list[str]
    resync: threading.Event


@contextmanager
def following(fake: FakeOpencodeServer, event_timeout: float) -> Iterator[Following]:
    """`follow` in a thread, as the console runs it; stopped (and joined) on exit."""
    stop, resync = threading.Event(), threading.Event()
    watch = Following(ActivityTracker(), [], resync)
    thread = threading.Thread(
        target=follow,
        args=(OpencodeServer(fake.url), watch.tracker, lambda: ["/proj"], stop, lambda _sid: None, watch.downs.append),
        kwargs={"event_timeout": event_timeout, "resync": resync},
    )
    thread.start()
    try:
        wait_for(lambda: connections(fake) >= 1)
        yield watch
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_a_stream_gone_silent_is_dropped_and_the_fresh_snapshot_shows_what_was_missed() -> None:
    with fake_opencode_server() as fake:
        serve_status(fake, {})
        with following(fake, event_timeout=0.3) as watch:
            wait_for(lambda: fake.routes and any(r.path == "/session/status" for r in list(fake.requests)))
            serve_status(fake, BUSY)  # the session went busy and no event said so: the stream is dead
            wait_for(lambda: watch.tracker.activity(SID).state == Activity.BUSY, timeout=10)
            assert connections(fake) >= 2 and watch.downs == []  # reconnected, never called down


def test_heartbeats_keep_a_stream_alive() -> None:
    with fake_opencode_server() as fake:
        serve_status(fake, {})
        with following(fake, event_timeout=1.0) as watch:
            for _ in range(25):  # 2.5 s of heartbeats 0.1 s apart: more than twice the timeout
                fake.send_event({"type": "server.heartbeat", "properties": {}}, directory=None)
                threading.Event().wait(0.1)
            assert connections(fake) == 1 and watch.downs == []


def test_a_stream_closed_mid_turn_reconnects_and_resyncs_without_calling_the_server_down() -> None:
    with fake_opencode_server() as fake:
        serve_status(fake, BUSY)
        with following(fake, event_timeout=30) as watch:
            wait_for(lambda: watch.tracker.activity(SID).state == Activity.BUSY)
            serve_status(fake, {})  # the turn ended while the stream was gone
            fake.broadcast(None)  # the server closes the stream
            wait_for(lambda: watch.tracker.activity(SID).state == Activity.IDLE)
            assert connections(fake) == 2 and watch.downs == []


def test_resync_reconnects_at_once_for_a_fresh_snapshot() -> None:
    with fake_opencode_server() as fake:
        serve_status(fake, BUSY)
        with following(fake, event_timeout=30) as watch:
            wait_for(lambda: watch.tracker.activity(SID).state == Activity.BUSY)
            serve_status(fake, {})
            watch.resync.set()
            wait_for(lambda: watch.tracker.activity(SID).state == Activity.IDLE)
            assert connections(fake) == 2 and watch.downs == [] and not watch.resync.is_set()


def dead_pid() -> int:
    done = subprocess.run([PY, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_a_busy_the_servers_status_keeps_after_its_agent_exited_is_not_shown(home: Home) -> None:
    """opencode #35472: /session/status says busy after the run ended. Our agent's exit is recorded and its pid
    is dead: the recorded end wins, and the detail says what the server claims."""
    write_session(home, NAME, opencode_session_id=SID, state="idle", pid=dead_pid())
    write_session(home, "github.com-shoko-kugetsu-8", opencode_session_id="ses_eight", state="idle")
    with fake_opencode_server() as fake:
        serve_status(fake, {**BUSY, "ses_eight": {"type": "busy"}})
        home.config_toml.write_text(f'[agent]\nserver = "{fake.url}"\n')
        result = run_cli(home, "ls", "--json")
    found = {e["name"]: e["activity"] for e in json.loads(result.stdout)["sessions"]}
    assert found[NAME]["state"] == "idle"
    assert "opencode's server still says busy, but its agent (pid" in str(found[NAME]["detail"])
    assert found["github.com-shoko-kugetsu-8"]["state"] == "busy"  # no agent of ours: nothing contradicts it


@pytest.mark.parametrize(("raw", "ok"), [("45", True), ("0.5", True), ("0", False), ("nan", False), ('"x"', False)])
def test_event_timeout_is_read_from_the_agent_table(home: Home, raw: str, ok: bool) -> None:
    home.config_toml.write_text(f"[agent]\nevent_timeout = {raw}\n")
    if ok:
        assert load_agent_config(home).event_timeout == float(raw)
    else:
        with pytest.raises(Exception, match="event_timeout must be a finite number of seconds > 0"):
            load_agent_config(home)
