"""The real server counts each session's tokens (the loopback model reports usage) and `ls --json` shows them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.server import OpencodeServer
from kugetsu_tui.opencode.usage import usages
from tests.helpers import write_session

from .harness import OpenCode, ServeProcess, free_port, run_command, session_id_of, write_kugetsu_home

pytestmark = pytest.mark.opencode

NAME = "github.com-acme-widgets-9"


def test_the_servers_session_list_carries_tokens_and_ls_json_shows_them(
    opencode: OpenCode, opencode_project: Path, opencode_env: dict[str, str], tmp_path: Path
) -> None:
    sid = session_id_of(opencode.run("count my tokens"))
    serve = ServeProcess(opencode, opencode_project, free_port()).start()
    try:
        usage = usages(OpencodeServer(serve.url, timeout=30), [str(opencode_project)])[sid]
        assert usage.input > 0 and usage.output > 0  # what the model reported
        assert usage.cost == 0  # a provider with no price: opencode says 0, not nothing

        home = Home(write_kugetsu_home(tmp_path / "home", "ses_unused"))
        write_session(
            home,
            NAME,
            {"type": "forked", "issue_ref": "github.com/acme/widgets#9", "opencode_session_id": sid, "state": "idle"},
            cwd=str(opencode_project),
        )
        home.config_toml.write_text(f'[agent]\nserver = "{serve.url}"\n')
        env = dict(opencode_env, KUGETSU_HOME=str(home.root))
        listed = run_command([sys.executable, "-m", "kugetsu_tui", "ls", "--json"], env=env, cwd=opencode_project)
        assert listed.returncode == 0, listed.describe()
        [entry] = [e for e in json.loads(listed.stdout)["sessions"] if e["name"] == NAME]
        assert entry["usage"]["input"] == usage.input and entry["usage"]["output"] == usage.output
    finally:
        serve.kill()
