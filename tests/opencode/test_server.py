"""The real `opencode serve` of the pinned opencode-ai, asked through our client (kugetsu_tui.opencode.server).

The loopback model is scripted by the message: `[slow S]` holds a session busy, `[fail 429 N]` makes
opencode retry, `[write F]` makes the agent call the write tool, which the project's opencode.json
leaves at "ask", so the server waits for an answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kugetsu_tui.opencode.server import OpencodeServer, PermissionReply, ServerEvent
from kugetsu_tui.opencode.server_activity import ActivityTracker, follow, snapshot
from kugetsu_tui.sessions.activities import Activity
from tests.helpers import wait_for

from .harness import OpenCode, ServeProcess, free_port, init_git_project, session_id_of

pytestmark = pytest.mark.opencode

ASK_EDITS = {"$schema": "https://opencode.ai/config.json", "permission": {"edit": "ask"}}


@pytest.fixture(scope="module")
def ask_project(opencode_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = init_git_project(tmp_path_factory.mktemp("ask-project"), opencode_env, "ask-project")
    (project / "opencode.json").write_text(json.dumps(ASK_EDITS), "utf-8")
    return project


@pytest.fixture(scope="module")
def serve(opencode: OpenCode, ask_project: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(opencode, ask_project, free_port()).start()
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture(scope="module")
def session_id(opencode: OpenCode, ask_project: Path) -> str:
    return session_id_of(opencode.run("hello", cwd=ask_project))


def wait_idle(client: OpencodeServer, project: Path, sid: str) -> None:
    wait_for(lambda: sid not in client.statuses(str(project)), timeout=60, interval=0.2)


def test_a_prompt_is_busy_while_the_model_streams_then_idle(serve, ask_project, session_id):
    client = OpencodeServer(serve.url)
    assert session_id not in client.statuses(str(ask_project))  # idle sessions are absent
    client.prompt_async(session_id, "[slow 4] think about it", str(ask_project))
    busy = wait_for(lambda: client.statuses(str(ask_project)).get(session_id), timeout=30, interval=0.1)
    assert busy == {"type": "busy"}
    wait_idle(client, ask_project, session_id)
    assert snapshot(client, [str(ask_project)]).activity(session_id).state == Activity.IDLE


@pytest.mark.parametrize("status", [429, 500])
def test_a_failing_model_shows_retry_with_attempt_message_and_next_try(serve, ask_project, session_id, status):
    client = OpencodeServer(serve.url)
    client.prompt_async(session_id, f"[fail {status} 2] try again ({time.time()})", str(ask_project))

    def retrying() -> dict[str, object] | None:
        status_now = client.statuses(str(ask_project)).get(session_id)
        return status_now if status_now and status_now.get("type") == "retry" else None

    seen = wait_for(retrying, timeout=60, interval=0.1)
    assert seen["attempt"] >= 1 and seen["message"] == f"fake model failure {status}"
    assert isinstance(seen["next"], int) and seen["next"] > 1_000_000_000_000  # epoch milliseconds
    activity = snapshot(client, [str(ask_project)]).activity(session_id)
    assert activity.state == Activity.RETRY and f"fake model failure {status}" in activity.detail
    wait_idle(client, ask_project, session_id)


@pytest.mark.parametrize("reply, written", [(PermissionReply.ONCE, True), (PermissionReply.REJECT, False)])
def test_a_permission_ask_waits_for_the_answer(serve, ask_project, session_id, reply, written):
    client = OpencodeServer(serve.url)
    target = f"note-{reply}.txt"
    client.prompt_async(session_id, f"[write {target}] please", str(ask_project))
    [ask] = wait_for(
        lambda: [p for p in client.permissions(str(ask_project)) if p.session_id == session_id],
        timeout=60,
        interval=0.1,
    )
    assert (ask.permission, ask.patterns) == ("edit", (target,)) and ask.id.startswith("per_")
    activity = snapshot(client, [str(ask_project)]).activity(session_id)
    assert activity.state == Activity.NEEDS_INPUT and f"edit: {target}" in activity.detail
    assert not (ask_project / target).exists()  # the write waits for the answer
    client.reply_permission(ask.id, reply, str(ask_project))
    wait_idle(client, ask_project, session_id)
    assert (ask_project / target).exists() is written
    assert client.permissions(str(ask_project)) == []


def test_the_event_stream_carries_status_and_asks(serve, ask_project, session_id):
    client = OpencodeServer(serve.url)
    seen: list[ServerEvent] = []
    with client.events() as stream:
        reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
        reader.start()
        wait_for(lambda: any(e.type == "server.connected" for e in seen), timeout=30)
        client.prompt_async(session_id, "[write streamed.txt] please", str(ask_project))
        asked = wait_for(lambda: [e for e in seen if e.type == "permission.asked"], timeout=60)
        client.reply_permission(str(asked[0].properties["id"]), PermissionReply.REJECT, str(ask_project))
        wait_for(
            lambda: any(e.type == "session.idle" and e.properties.get("sessionID") == session_id for e in seen),
            timeout=60,
        )
        stream.stop()
        reader.join(timeout=10)
    types = [e.type for e in seen if e.properties.get("sessionID") == session_id]
    assert "session.status" in types and "permission.replied" in types
    assert asked[0].directory == str(ask_project)


def test_the_follower_survives_the_server_killed_and_restarted(opencode, ask_project, session_id):
    process = ServeProcess(opencode, ask_project, free_port()).start()
    client = OpencodeServer(process.url)
    tracker = ActivityTracker()
    stop = threading.Event()
    downs: list[str] = []
    thread = threading.Thread(
        target=follow,
        args=(client, tracker, lambda: [str(ask_project)], stop, lambda sid: None, downs.append),
        daemon=True,
    )
    thread.start()
    try:
        client.prompt_async(session_id, "[slow 3] before the kill", str(ask_project))
        wait_for(lambda: tracker.activity(session_id).state == Activity.BUSY, timeout=30)
        process.kill()
        wait_for(lambda: downs, timeout=60)
        process.start()
        client.prompt_async(session_id, "[write after-restart.txt] please", str(ask_project))
        wait_for(lambda: tracker.activity(session_id).state == Activity.NEEDS_INPUT, timeout=60)
        [ask] = [p for p in tracker.pending() if p.session_id == session_id]
        client.reply_permission(ask.id, PermissionReply.REJECT, str(ask_project))
        wait_for(lambda: tracker.activity(session_id).state == Activity.IDLE, timeout=60)
    finally:
        stop.set()
        thread.join(timeout=10)
        process.kill()
    assert not thread.is_alive()
