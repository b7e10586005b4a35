"""The directory guard: start and continue refuse to launch an agent outside its opencode session's
directory, learned once from the export and cached in our own file (the real CLI: tests/opencode)."""

from __future__ import annotations

import json
import os

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.lifecycle.start import continue_session, start_session
from kugetsu_tui.opencode.directories import CACHE_NAME, cached_directory
from tests.helpers import (
    assert_one_line_error,
    base_id,
    demo_agent_config,
    dev_files,
    make_home,
    run_cli,
    scripted_agent,
    session_data,
    wait_state,
)

REF, NAME = "github.com/shoko/kugetsu#49", "github.com-shoko-kugetsu-49"
#: An export that names a directory (argv[1]) and counts its calls in a file (argv[2]).
EXPORT = """
import json, sys
with open(sys.argv[2], "a") as calls:
    calls.write("x")
print(json.dumps({"info": {"id": sys.argv[3], "directory": sys.argv[1]}, "messages": []}))
"""


@pytest.fixture
def home(tmp_path) -> Home:
    return make_home(tmp_path)


def export_naming(home: Home, directory: str) -> str:
    calls = str(home.root.parent / "export-calls")
    demo_agent_config(home, export=scripted_agent(EXPORT, directory, calls, "{session_id}"), cwd=str(home.root.parent))
    return calls


def test_start_refuses_to_fork_outside_the_base_sessions_directory(home, tmp_path):
    elsewhere = tmp_path / "the-base-project"
    elsewhere.mkdir()
    export_naming(home, str(elsewhere))
    with pytest.raises(KugetsuError) as caught:
        start_session(home, REF, "hi")
    assert str(elsewhere) in str(caught.value) and str(home.root.parent) in str(caught.value)
    assert dev_files(home) == []  # refused before anything was written
    result = run_cli(home, "start", REF, "hi")
    assert_one_line_error(result, 1, f"belongs to the directory {elsewhere}")


def test_start_in_the_right_directory_goes_ahead_and_the_directory_is_learned_once(home):
    calls = export_naming(home, str(home.root.parent))
    start_session(home, REF, "hi")
    wait_state(home, NAME, "idle")
    assert cached_directory(home, base_id(home)) == str(home.root.parent)
    assert json.loads((home.root / CACHE_NAME).read_text()) == {base_id(home): str(home.root.parent)}
    continue_session(home, REF, "more")
    wait_state(home, NAME, "idle")
    sid = session_data(home, NAME)["opencode_session_id"]
    assert cached_directory(home, sid) == str(home.root.parent)
    with open(calls) as counted:
        assert counted.read() == "xx"  # one export for the base, one for the new session; none again
    continue_session(home, REF, "again")
    wait_state(home, NAME, "idle")
    with open(calls) as counted:
        assert counted.read() == "xx"


def test_continue_refuses_outside_the_sessions_directory(home, tmp_path):
    export_naming(home, str(home.root.parent))
    start_session(home, REF, "hi")
    wait_state(home, NAME, "idle")
    moved = tmp_path / "moved"
    moved.mkdir()
    sid = session_data(home, NAME)["opencode_session_id"]
    cache = json.loads((home.root / CACHE_NAME).read_text())
    (home.root / CACHE_NAME).write_text(json.dumps({**cache, sid: str(moved)}))
    result = run_cli(home, "continue", REF, "more")
    assert_one_line_error(result, 1, f"belongs to the directory {moved}", "[agent] cwd")
    assert session_data(home, NAME)["state"] == "idle"  # untouched


def test_an_export_that_names_no_directory_is_not_checked_and_not_cached(home):
    export = scripted_agent(
        "import json, sys; print(json.dumps({'info': {'id': sys.argv[1]}, 'messages': []}))", "{session_id}"
    )
    demo_agent_config(home, export=export)  # an export that names no info.directory
    start_session(home, REF, "hi")
    wait_state(home, NAME, "idle")
    assert not os.path.exists(home.root / CACHE_NAME)
