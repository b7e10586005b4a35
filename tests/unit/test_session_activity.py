"""Activity: from the agent's log without a server (busy, stalled, denied), from a server with one
(and `unknown` when it is down), in `ls --json`, and the `permissions` command."""

from __future__ import annotations

import json
import os
import time

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.log_activity import log_activity
from kugetsu_tui.sessions.activities import Activity
from kugetsu_tui.sessions.files import read_session
from kugetsu_tui.sessions.overview import view
from tests.helpers import assert_one_line_error, make_home, run_cli, write_session
from tests.unit.opencode_server_fake import Answer, fake_opencode_server
from tests.unit.test_opencode_server import free_port

NAME = "github.com-shoko-kugetsu-7"
SID = "ses_seven"
# What `opencode run --format json` printed for a write refused under "edit": "ask" (opencode-ai 1.18.33).
DENIED_EVENT = {
    "type": "tool_use",
    "timestamp": 0,
    "sessionID": SID,
    "part": {
        "type": "tool",
        "tool": "write",
        "callID": "call_1",
        "state": {
            "status": "error",
            "input": {"filePath": "note.txt", "content": "x"},
            "error": "The user rejected permission to use this specific tool call.",
            "time": {"start": 0, "end": 0},
        },
    },
}


@pytest.fixture
def home(tmp_path) -> Home:
    return make_home(tmp_path)


def session_with_log(home: Home, state: str, lines: list[dict[str, object]], log_age: float = 0.0, **fields: object):
    log = home.log_path(NAME)
    home.ensure()
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    when = time.time() - log_age
    os.utime(log, (when, when))
    write_session(
        home,
        NAME,
        {
            "type": "forked",
            "issue_ref": "github.com/shoko/kugetsu#7",
            "opencode_session_id": SID,
            "state": state,
            "log": str(log),
            **fields,
        },
    )
    return view(read_session(home.session_path(NAME)), alive=state == "running")


def test_a_running_agent_shows_the_time_of_its_last_event(home):
    shown = log_activity(home, session_with_log(home, "running", [{"type": "step_start"}], log_age=40), 300)
    assert shown.state == Activity.BUSY and shown.detail == "output 40s ago"


def test_a_running_agent_silent_past_stall_after_is_stalled_with_what_to_check(home):
    shown = log_activity(home, session_with_log(home, "running", [{"type": "step_start"}], log_age=400), 300)
    assert shown.state == Activity.STALLED
    assert (
        shown.detail.startswith("silent for 6m: ")
        and "directory" in shown.detail
        and str(home.log_path(NAME)) in shown.detail
    )


def test_a_refused_permission_is_denied_with_what_it_wanted(home):
    lines = [{"type": "step_start", "timestamp": 0}, DENIED_EVENT, {"type": "step_finish", "timestamp": 0}]
    for state in ("running", "idle"):
        shown = log_activity(home, session_with_log(home, state, lines), 300)
        assert (shown.state, shown.detail) == (Activity.DENIED, "edit denied: note.txt")


def test_a_refusal_from_an_earlier_run_is_not_shown(home):
    earlier = {**DENIED_EVENT, "timestamp": int((time.time() - 3600) * 1000)}
    shown = log_activity(
        home, session_with_log(home, "idle", [earlier], first_event_at="2099-01-01T00:00:00+00:00"), 300
    )
    assert shown.state == Activity.IDLE


def test_a_failed_agent_is_an_error_with_its_reason(home):
    shown = log_activity(home, session_with_log(home, "failed", [], error="agent exited with status 1"), 300)
    assert (shown.state, shown.detail) == (Activity.ERROR, "agent exited with status 1")


def ls_activity(home: Home) -> dict[str, dict[str, object]]:
    result = run_cli(home, "ls", "--json")
    assert result.returncode == 0, result.stderr
    return {e["name"]: e["activity"] for e in json.loads(result.stdout)["sessions"]}


def set_server(home: Home, url: str) -> None:
    home.config_toml.write_text(f'[agent]\nserver = "{url}"\n')


def test_ls_json_with_the_server_down_says_unknown_and_exits_0(home):
    write_session(home, NAME, opencode_session_id=SID)
    set_server(home, f"http://127.0.0.1:{free_port()}")
    found = ls_activity(home)
    assert found[NAME]["state"] == "unknown" and "connection refused" in str(found[NAME]["detail"])


def serve_one_ask(fake, directory: str) -> None:
    fake.routes[("GET", "/session/status")] = Answer(body={SID: {"type": "busy"}, "ses_other": {"type": "busy"}})
    fake.routes[("GET", "/permission")] = Answer(
        body=[
            {
                "id": "per_1",
                "sessionID": SID,
                "permission": "edit",
                "patterns": ["src/app.py"],
                "metadata": {},
                "always": [],
            }
        ]
    )
    fake.routes[("GET", "/question")] = Answer(body=[])


def test_ls_json_with_a_server_shows_its_activity_and_asks_each_sessions_directory(home, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    write_session(home, NAME, opencode_session_id=SID, cwd=str(project))
    write_session(home, "github.com-shoko-kugetsu-8", opencode_session_id="ses_other", cwd=str(project))
    with fake_opencode_server() as fake:
        serve_one_ask(fake, str(project))
        set_server(home, fake.url)
        found = ls_activity(home)
    assert found[NAME]["state"] == "needs_input" and "edit: src/app.py" in str(found[NAME]["detail"])
    assert found["github.com-shoko-kugetsu-8"]["state"] == "busy"
    assert str(project) in {r.headers.get("x-opencode-directory") for r in fake.requests}


def test_permissions_lists_and_answers_an_ask_in_its_directory(home, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    write_session(home, NAME, opencode_session_id=SID, cwd=str(project))
    with fake_opencode_server() as fake:
        serve_one_ask(fake, str(project))
        fake.routes[("POST", "/permission/per_1/reply")] = Answer(body=True)
        set_server(home, fake.url)
        listing = run_cli(home, "permissions")
        as_json = run_cli(home, "permissions", "--json")
        answered = run_cli(home, "permissions", "always", "per_1")
    assert listing.returncode == 0 and "per_1" in listing.stdout and "edit: src/app.py" in listing.stdout
    assert NAME in listing.stdout
    [entry] = json.loads(as_json.stdout)["permissions"]
    assert entry["id"] == "per_1" and entry["session"] == NAME and entry["patterns"] == ["src/app.py"]
    assert answered.returncode == 0, answered.stderr
    [reply] = [r for r in fake.requests if r.method == "POST"]
    assert reply.body == {"reply": "always"} and reply.headers.get("x-opencode-directory")


def test_answering_an_unknown_ask_is_one_line(home):
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = Answer(body={})
        fake.routes[("GET", "/permission")] = Answer(body=[])
        fake.routes[("GET", "/question")] = Answer(body=[])
        set_server(home, fake.url)
        result = run_cli(home, "permissions", "allow", "per_gone")
    assert_one_line_error(result, 1, "no pending permission 'per_gone'")


@pytest.mark.parametrize("args", [("permissions",), ("permissions", "allow", "per_1")])
def test_permissions_without_a_server_or_with_it_down_is_one_line(home, args):
    assert_one_line_error(run_cli(home, *args), 1, "no opencode server configured")
    set_server(home, f"http://127.0.0.1:{free_port()}")
    assert_one_line_error(run_cli(home, *args), 1, "connection refused")


#: An agent that reports its session id, then says nothing for a long time.
SILENT_AGENT = """
import json, sys, time
print(json.dumps({"type": "step_start", "sessionID": "ses_silent", "part": {}}), flush=True)
time.sleep(60)
"""


def test_a_real_agent_that_goes_silent_is_stalled_then_busy_again_when_it_speaks(home):
    from tests.helpers import demo_agent_config, kill_recorded_processes, scripted_agent, wait_for
    from tests.helpers import wait_state as wait_recorded

    demo_agent_config(home, start=scripted_agent(SILENT_AGENT), stall_after=2)
    try:
        assert run_cli(home, "start", "shoko/kugetsu#7", "hi").returncode == 0
        wait_recorded(home, NAME, "running")
        stalled = wait_for(
            lambda: ls_activity(home)[NAME]["state"] == "stalled" and ls_activity(home)[NAME], timeout=30, interval=0.2
        )
        assert str(stalled["detail"]).startswith("silent for") and stalled["since"]
        with open(home.log_path(NAME), "a") as log:
            log.write(json.dumps({"type": "text", "sessionID": "ses_silent", "part": {"text": "back"}}) + "\n")
        assert ls_activity(home)[NAME]["state"] == "busy"
    finally:
        kill_recorded_processes(home.root)


@pytest.mark.parametrize(
    "before, after, wanted",
    [
        (Activity.BUSY, Activity.NEEDS_INPUT, True),
        (Activity.NEEDS_INPUT, Activity.NEEDS_INPUT, False),  # once per change, not once per look
        (Activity.BUSY, Activity.IDLE, True),  # idle after work
        (None, Activity.IDLE, False),  # first look at an idle session: nothing happened
        (Activity.UNKNOWN, Activity.IDLE, False),
        (Activity.BUSY, Activity.STALLED, True),
        (Activity.RETRY, Activity.ERROR, True),
        (Activity.IDLE, Activity.BUSY, False),
        (None, Activity.DENIED, True),
    ],
)
def test_attention_is_wanted_once_per_change_into_an_attention_state(before, after, wanted):
    from kugetsu_tui.sessions.activities import wants_attention

    assert wants_attention(before, after) is wanted


def test_an_agent_the_server_does_not_run_keeps_the_activity_of_its_own_log(home):
    """`opencode run` (not --attach) works outside the server, which calls the session idle meanwhile."""
    from tests.helpers import demo_agent_config, kill_recorded_processes, scripted_agent
    from tests.helpers import wait_state as wait_recorded

    demo_agent_config(home, start=scripted_agent(SILENT_AGENT))
    try:
        assert run_cli(home, "start", "shoko/kugetsu#7", "hi").returncode == 0
        wait_recorded(home, NAME, "running")
        with fake_opencode_server() as fake:
            fake.routes[("GET", "/session/status")] = Answer(body={})
            fake.routes[("GET", "/permission")] = Answer(body=[])
            fake.routes[("GET", "/question")] = Answer(body=[])
            demo_agent_config(home, start=scripted_agent(SILENT_AGENT), server=fake.url)
            shown = ls_activity(home)[NAME]
        assert shown["state"] == "busy" and str(shown["detail"]).startswith("output ")
    finally:
        kill_recorded_processes(home.root)
