"""The opencode server client: what it sends, how it reads answers, and every way asking can fail."""

from __future__ import annotations

import socket
import threading

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.opencode.server import (
    DIRECTORY_HEADER,
    NotFound,
    OpencodeServer,
    PermissionReply,
    ServerEvent,
    ServerUnavailable,
    StreamSilent,
    parse_global_event,
)
from kugetsu_tui.opencode.server_activity import ActivityTracker, follow, snapshot
from kugetsu_tui.sessions.activities import Activity
from tests.helpers import wait_for
from tests.unit.opencode_server_fake import Answer, fake_opencode_server

PERMISSION = {
    "id": "per_1",
    "sessionID": "ses_a",
    "permission": "edit",
    "patterns": ["note.txt"],
    "metadata": {"filepath": "/proj/note.txt"},
    "always": ["*"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_statuses_send_the_directory_header_and_read_the_map():
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = Answer(body={"ses_a": {"type": "busy"}})
        assert OpencodeServer(fake.url).statuses("/proj") == {"ses_a": {"type": "busy"}}
        assert fake.requests[0].headers[DIRECTORY_HEADER] == "/proj"


def test_permissions_and_questions_are_read_with_their_directory():
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/permission")] = Answer(body=[PERMISSION, {"no": "id"}])
        fake.routes[("GET", "/question")] = Answer(
            body=[
                {
                    "id": "que_1",
                    "sessionID": "ses_b",
                    "questions": [{"question": "Which branch?", "header": "Branch", "options": []}],
                }
            ]
        )
        server = OpencodeServer(fake.url)
        [permission] = server.permissions("/proj")
        assert (permission.id, permission.session_id, permission.describe(), permission.directory) == (
            "per_1",
            "ses_a",
            "edit: note.txt",
            "/proj",
        )
        [question] = server.questions("/proj")
        assert (question.id, question.session_id, question.text) == ("que_1", "ses_b", "Which branch?")


def test_a_reply_and_a_prompt_post_the_documented_bodies():
    with fake_opencode_server() as fake:
        fake.routes[("POST", "/permission/per_1/reply")] = Answer(body=True)
        fake.routes[("POST", "/session/ses_a/prompt_async")] = Answer(204)
        server = OpencodeServer(fake.url)
        server.reply_permission("per_1", PermissionReply.ALWAYS, "/proj")
        server.prompt_async("ses_a", "fix it", "/proj")
        assert [(r.method, r.path, r.body) for r in fake.requests] == [
            ("POST", "/permission/per_1/reply", {"reply": "always"}),
            ("POST", "/session/ses_a/prompt_async", {"parts": [{"type": "text", "text": "fix it"}]}),
        ]


def test_questions_are_answered_or_rejected_with_the_documented_bodies():
    with fake_opencode_server() as fake:
        fake.routes[("POST", "/question/que_1/reply")] = Answer(body=True)
        fake.routes[("POST", "/question/que_2/reject")] = Answer(body=True)
        server = OpencodeServer(fake.url)
        server.reply_question("que_1", [["main"]], "/proj")
        server.reject_question("que_2", "/proj")
        assert [(r.path, r.body) for r in fake.requests] == [
            ("/question/que_1/reply", {"answers": [["main"]]}),
            ("/question/que_2/reject", {}),
        ]


def test_a_directory_header_is_percent_encoded():
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = Answer(body={})
        OpencodeServer(fake.url).statuses("/src/my project é")
        assert fake.requests[0].headers[DIRECTORY_HEADER] == "/src/my%20project%20%C3%A9"


def test_a_server_that_is_down_is_one_clear_error():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnavailable, match="connection refused .*opencode serve"):
        OpencodeServer(url).statuses()


def test_a_server_that_does_not_answer_times_out():
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = Answer(body={}, delay=30)
        with pytest.raises(ServerUnavailable, match="no answer within 0.3 s"):
            OpencodeServer(fake.url, timeout=0.3).statuses()


@pytest.mark.parametrize(
    "answer, needle",
    [
        (Answer(body=b"<html>oops"), "not JSON"),
        (Answer(body=[1, 2]), "not an object of statuses"),
        (Answer(body={"ses_a": "busy"}), "not an object of statuses"),
        (Answer(500, {"name": "UnknownError", "data": {"message": "database locked"}}), "HTTP 500 (database locked)"),
    ],
)
def test_an_answer_not_shaped_as_documented_is_a_clear_error(answer, needle):
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = answer
        with pytest.raises(ServerUnavailable, match=needle.replace("(", r"\(").replace(")", r"\)")):
            OpencodeServer(fake.url).statuses()


def test_an_unknown_permission_is_not_found_with_the_servers_words():
    with fake_opencode_server() as fake:
        fake.routes[("POST", "/permission/per_x/reply")] = Answer(
            404, {"_tag": "PermissionNotFoundError", "message": "Permission request not found: per_x"}
        )
        with pytest.raises(NotFound, match="Permission request not found: per_x"):
            OpencodeServer(fake.url).reply_permission("per_x", PermissionReply.ONCE)


@pytest.mark.parametrize("url", ["https://127.0.0.1:4096", "127.0.0.1:4096", "http://", "http://h:99999"])
def test_a_bad_url_is_a_clear_error(url):
    with pytest.raises(KugetsuError, match="opencode server"):
        OpencodeServer(url)


def test_global_events_are_unwrapped():
    event = parse_global_event(
        '{"directory": "/proj", "project": "p", "payload": {"type": "session.idle", '
        '"properties": {"sessionID": "ses_a"}}}'
    )
    assert event == ServerEvent("/proj", "session.idle", {"sessionID": "ses_a"})
    assert parse_global_event('{"payload": {"type": "server.connected", "properties": {}}}') == ServerEvent(
        None, "server.connected", {}
    )
    assert parse_global_event("not json") is None
    assert parse_global_event('{"payload": {"properties": {}}}') is None


def test_the_event_stream_yields_events_and_stop_ends_it_from_another_thread():
    with fake_opencode_server() as fake:
        stream = OpencodeServer(fake.url).events()
        fake.broadcast(b"data: {broken\n\n")
        fake.send_event({"type": "session.status", "properties": {"sessionID": "ses_a", "status": {"type": "busy"}}})
        seen: list[ServerEvent] = []
        reader = threading.Thread(target=lambda: seen.extend(stream))
        reader.start()
        wait_for(lambda: len(seen) == 2)
        stream.stop()
        reader.join(timeout=5)
        assert not reader.is_alive()
        assert [e.type for e in seen] == ["server.connected", "session.status"]


def test_a_stream_the_server_closes_raises_so_the_caller_reconnects():
    with fake_opencode_server() as fake:
        stream = OpencodeServer(fake.url).events()
        fake.broadcast(None)
        with pytest.raises(ServerUnavailable, match="closed the stream"):
            list(stream)


def test_a_silent_stream_times_out_after_its_own_timeout():
    """Also when the server answers `Connection: close` (as this stand-in does), which makes http.client
    forget the socket: the idle timeout once never reached it, and the request's 2 s applied instead."""
    with fake_opencode_server() as fake:
        stream = OpencodeServer(fake.url, timeout=30).events(idle_timeout=0.3)
        with pytest.raises(StreamSilent, match=r"no event \(not even a heartbeat\) for 0\.3 s"):
            list(stream)  # server.connected, then silence


def test_the_snapshot_puts_a_pending_ask_before_the_busy_status():
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = Answer(
            body={
                "ses_a": {"type": "busy"},
                "ses_r": {"type": "retry", "attempt": 2, "message": "rate limited", "next": 0},
            }
        )
        fake.routes[("GET", "/permission")] = Answer(body=[PERMISSION])
        fake.routes[("GET", "/question")] = Answer(body=[])
        snap = snapshot(OpencodeServer(fake.url), ["/proj"])
        assert snap.activity("ses_a").state == Activity.NEEDS_INPUT
        assert "edit: note.txt" in snap.activity("ses_a").detail
        retry = snap.activity("ses_r")
        assert retry.state == Activity.RETRY and retry.detail.startswith("attempt 2: rate limited, next try in 0 s")
        assert snap.activity("ses_gone").state == Activity.IDLE


def test_the_tracker_follows_asks_replies_and_statuses():
    tracker = ActivityTracker()

    def event(kind: str, **props: object) -> ServerEvent:
        return ServerEvent("/proj", kind, {"sessionID": "ses_a", **props})

    assert tracker.apply(event("session.status", status={"type": "busy"})) == "ses_a"
    assert tracker.apply(event("session.status", status={"type": "busy"})) is None  # no change
    tracker.apply(event("permission.asked", id="per_1", permission="edit", patterns=["a.txt"]))
    assert tracker.activity("ses_a").state == Activity.NEEDS_INPUT
    tracker.apply(event("session.status", status={"type": "busy"}))
    assert tracker.activity("ses_a").state == Activity.NEEDS_INPUT  # still waiting for the answer
    assert [p.id for p in tracker.pending()] == ["per_1"]
    tracker.apply(event("permission.replied", requestID="per_1", reply="once"))
    assert tracker.activity("ses_a").state == Activity.BUSY and tracker.pending() == []
    tracker.apply(event("session.error", error={"name": "APIError", "data": {"message": "quota exceeded"}}))
    assert tracker.activity("ses_a")[:2] == (Activity.ERROR, "quota exceeded")
    tracker.apply(event("session.idle"))
    assert tracker.activity("ses_a").state == Activity.IDLE


def test_follow_reports_the_server_down_then_resyncs_when_it_is_back():
    port = free_port()
    stop = threading.Event()
    downs: list[str] = []
    changes: list[str | None] = []
    tracker = ActivityTracker()
    thread = threading.Thread(
        target=follow,
        args=(
            OpencodeServer(f"http://127.0.0.1:{port}"),
            tracker,
            lambda: ["/proj"],
            stop,
            changes.append,
            downs.append,
        ),
    )
    thread.start()
    try:
        wait_for(lambda: downs)
        assert "connection refused" in downs[0]
        with fake_opencode_server(port) as fake:
            fake.routes[("GET", "/session/status")] = Answer(body={"ses_a": {"type": "busy"}})
            fake.routes[("GET", "/permission")] = Answer(body=[])
            fake.routes[("GET", "/question")] = Answer(body=[])
            wait_for(lambda: tracker.activity("ses_a").state == Activity.BUSY, timeout=20)
            fake.send_event({"type": "session.idle", "properties": {"sessionID": "ses_a"}})
            wait_for(lambda: "ses_a" in changes)
            assert tracker.activity("ses_a").state == Activity.IDLE
            stop.set()
            thread.join(timeout=5)
            assert not thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=5)
