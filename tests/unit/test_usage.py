"""Tokens and cost per session in `ls --json`, from the server's `GET /session` (a stand-in here; the real
server's answer is checked in tests/opencode/test_usage_real_opencode.py)."""

from __future__ import annotations

import json

from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.usage import Usage, parse_usage
from tests.helpers import run_cli, write_session
from tests.unit.opencode_server_fake import Answer, fake_opencode_server
from tests.unit.test_opencode_server import free_port

NAME = "github.com-shoko-kugetsu-7"
SID = "ses_seven"
SESSION = {
    "id": SID,
    "cost": 0.0123,
    "tokens": {"input": 2455, "output": 30, "reasoning": 7, "cache": {"read": 100, "write": 5}},
}


def ls_usage(home: Home) -> dict[str, object]:
    result = run_cli(home, "ls", "--json")
    assert result.returncode == 0, result.stderr
    return {e["name"]: e["usage"] for e in json.loads(result.stdout)["sessions"]}


def test_a_session_object_gives_its_tokens_and_cost() -> None:
    usage = parse_usage(SESSION)
    assert usage == Usage(2455, 30, 7, 100, 5, 0.0123)
    assert usage.brief() == "2,455 in · 30 out · 7 reasoning · cache 100/5 · $0.0123"
    assert parse_usage({"id": SID}) is None
    assert parse_usage({"tokens": {"input": -1, "output": True}}) == Usage(0, 0, 0, 0, 0, None)


def test_ls_json_shows_each_sessions_usage_from_the_server(home: Home) -> None:
    write_session(home, NAME, opencode_session_id=SID)
    write_session(home, "github.com-shoko-kugetsu-8", opencode_session_id="ses_unknown_to_the_server")
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = Answer(body={})
        fake.routes[("GET", "/permission")] = Answer(body=[])
        fake.routes[("GET", "/question")] = Answer(body=[])
        fake.routes[("GET", "/session")] = Answer(body=[SESSION])
        home.config_toml.write_text(f'[agent]\nserver = "{fake.url}"\n')
        found = ls_usage(home)
    assert found[NAME] == {
        "input": 2455,
        "output": 30,
        "reasoning": 7,
        "cache_read": 100,
        "cache_write": 5,
        "cost": 0.0123,
    }
    assert found["github.com-shoko-kugetsu-8"] is None


def test_without_a_server_or_with_it_down_usage_is_null(home: Home) -> None:
    write_session(home, NAME, opencode_session_id=SID)
    assert ls_usage(home)[NAME] is None
    home.config_toml.write_text(f'[agent]\nserver = "http://127.0.0.1:{free_port()}"\n')
    assert ls_usage(home)[NAME] is None
