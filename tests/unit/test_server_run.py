"""Start and continue through an opencode server (`[agent] server`): the message goes by prompt_async,
the supervisor follows the server's events, and every start guarantee holds (real server: tests/opencode)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kugetsu_tui.base.home import Home
from tests.helpers import (
    assert_one_line_error,
    base_id,
    demo_agent_config,
    dev_files,
    kill_recorded_processes,
    make_home,
    run_cli,
    session_data,
    wait_for,
    wait_state,
)
from tests.unit.opencode_server_fake import Answer, FakeOpencodeServer, fake_opencode_server

REF, NAME = "github.com/shoko/kugetsu#5", "github.com-shoko-kugetsu-5"


@pytest.fixture
def home(tmp_path) -> Iterator[Home]:
    home = make_home(tmp_path)
    yield home
    kill_recorded_processes(home.root)


def serve(home: Home, fake: FakeOpencodeServer) -> None:
    demo_agent_config(home, server=fake.url, export=[])  # export off: the guard has nothing to ask


def finish(fake: FakeOpencodeServer, sid: str) -> None:
    """Once the prompt arrived: busy, then idle, as the server reports them."""
    wait_for(lambda: any(r.path == f"/session/{sid}/prompt_async" for r in fake.requests))
    for status in ({"type": "busy"}, {"type": "idle"}):
        fake.send_event({"type": "session.status", "properties": {"sessionID": sid, "status": status}})
    fake.send_event({"type": "session.idle", "properties": {"sessionID": sid}})


def test_start_forks_and_prompts_through_the_server_and_records_the_outcome(home):
    with fake_opencode_server() as fake:
        serve(home, fake)
        fake.routes[("POST", f"/session/{base_id(home)}/fork")] = Answer(body={"id": "ses_forked"})
        fake.routes[("POST", "/session/ses_forked/prompt_async")] = Answer(204)
        result = run_cli(home, "start", REF, "fix the bug")
        assert result.returncode == 0, result.stderr
        assert "opencode session ses_forked" in result.stdout
        finish(fake, "ses_forked")
        data = wait_state(home, NAME, "idle")
    [prompt] = [r for r in fake.requests if r.path.endswith("/prompt_async")]
    assert prompt.body == {"parts": [{"type": "text", "text": "fix the bug"}]}
    assert prompt.headers["x-opencode-directory"] == data["cwd"]
    log = home.log_path(NAME).read_text()
    assert '"event": "session.status"' in log


def test_a_start_the_server_refuses_is_rolled_back_with_its_words(home):
    with fake_opencode_server() as fake:
        serve(home, fake)
        fake.routes[("POST", f"/session/{base_id(home)}/fork")] = Answer(
            404, {"name": "NotFoundError", "data": {"message": f"Session not found: {base_id(home)}"}}
        )
        result = run_cli(home, "start", REF, "fix the bug")
    assert_one_line_error(result, 1, "the agent failed", "Session not found")
    assert dev_files(home) == []


def test_continue_prompts_the_existing_session(home):
    with fake_opencode_server() as fake:
        serve(home, fake)
        fake.routes[("POST", f"/session/{base_id(home)}/fork")] = Answer(body={"id": "ses_forked"})
        fake.routes[("POST", "/session/ses_forked/prompt_async")] = Answer(204)
        assert run_cli(home, "start", REF, "first").returncode == 0
        finish(fake, "ses_forked")
        wait_state(home, NAME, "idle")
        fake.requests.clear()
        result = run_cli(home, "continue", REF, "second")
        assert result.returncode == 0, result.stderr
        finish(fake, "ses_forked")
        wait_state(home, NAME, "idle")
    assert [json.dumps(r.body) for r in fake.requests if r.method == "POST"] == [
        json.dumps({"parts": [{"type": "text", "text": "second"}]})
    ]
    assert session_data(home, NAME)["opencode_session_id"] == "ses_forked"


def test_destroy_stops_the_follower_and_aborts_the_session_in_the_server(home):
    with fake_opencode_server() as fake:
        serve(home, fake)
        fake.routes[("POST", f"/session/{base_id(home)}/fork")] = Answer(body={"id": "ses_forked"})
        fake.routes[("POST", "/session/ses_forked/prompt_async")] = Answer(204)
        fake.routes[("POST", "/session/ses_forked/abort")] = Answer(body=True)
        assert run_cli(home, "start", REF, "work long").returncode == 0
        wait_state(home, NAME, "running")
        result = run_cli(home, "destroy", REF, "-y")
        assert result.returncode == 0, result.stderr
        wait_for(lambda: any(r.path == "/session/ses_forked/abort" for r in fake.requests))
    assert dev_files(home) == []
