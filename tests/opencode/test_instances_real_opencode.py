"""The real `opencode serve` frees a destroyed worktree's instance: destroy posts /instance/dispose for the
worktree, and the server says so on its event stream (`server.instance.disposed` with that directory)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.lifecycle.archive import destroy_session
from kugetsu_tui.opencode.server import OpencodeServer, ServerEvent, ServerUnavailable
from tests.helpers import wait_for, write_session

from .harness import OpenCode, ServeProcess, free_port, write_kugetsu_home

pytestmark = pytest.mark.opencode

NAME = "github.com-acme-widgets-5"


def kugetsu_worktree_session(home: Home, project: Path, path: Path, env: dict[str, str]) -> None:
    subprocess.run(
        ["git", "worktree", "add", "-q", "-b", f"fix/issue-5-{path.name}", str(path)],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    write_session(
        home,
        NAME,
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#5",
            "opencode_session_id": None,
            "state": "idle",
            "worktree_path": str(path),
            "branch_name": f"fix/issue-5-{path.name}",
        },
    )


def test_destroy_disposes_the_worktrees_instance_in_the_real_server(
    opencode: OpenCode, opencode_project: Path, opencode_env: dict[str, str], tmp_path: Path
) -> None:
    home = Home(write_kugetsu_home(tmp_path / "home", "ses_unused"))
    worktree = tmp_path / "wt"
    kugetsu_worktree_session(home, opencode_project, worktree, opencode_env)
    serve = ServeProcess(opencode, opencode_project, free_port()).start()
    try:
        home.config_toml.write_text(f'[agent]\nserver = "{serve.url}"\n')
        client = OpencodeServer(serve.url, timeout=30)
        client.statuses(str(worktree))  # the server now holds an instance for the worktree
        seen: list[ServerEvent] = []
        stream = client.events()

        def read() -> None:
            try:
                seen.extend(stream)
            except ServerUnavailable:
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            wait_for(lambda: any(e.type == "server.connected" for e in seen), timeout=30, interval=0.05)
            destroyed = destroy_session(home, NAME)
            assert not any("instance" in w for w in destroyed.warnings), destroyed.warnings
            wait_for(
                lambda: any(e.type == "server.instance.disposed" and e.directory == str(worktree) for e in seen),
                timeout=30,
                interval=0.1,
            )
        finally:
            stream.stop()  # from this thread; closed once the reader is done with it
            reader.join(timeout=10)
            stream.close()
    finally:
        serve.kill()

    kugetsu_worktree_session(home, opencode_project, tmp_path / "wt2", opencode_env)
    destroyed = destroy_session(home, NAME)  # the server is gone: a warning, and the destroy is done
    assert any(f"instance of {tmp_path / 'wt2'} was not freed" in w for w in destroyed.warnings), destroyed.warnings
    assert not home.session_path(NAME).exists()
