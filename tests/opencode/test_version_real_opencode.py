"""The pinned opencode's own answers pass the generation check: `opencode --version` and the server's /global/health
both say 1.18.33 (the stand-ins for a 2.x are in tests/unit/test_opencode_version.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kugetsu_tui.opencode.server import OpencodeServer
from kugetsu_tui.opencode.version import cache_path, check_program, program_version, server_problem

from .harness import OPENCODE_VERSION, OpenCode, ServeProcess, free_port

pytestmark = pytest.mark.opencode


def test_the_pinned_opencode_and_its_server_say_1_x_and_pass(
    opencode: OpenCode, opencode_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert program_version(str(opencode.binary)) == OPENCODE_VERSION
    assert OPENCODE_VERSION in cache_path().read_text()  # the next start reads it from there
    check_program([str(opencode.binary), "run"])

    serve = ServeProcess(opencode, opencode_project, free_port()).start()
    try:
        server = OpencodeServer(serve.url)
        assert server.health_version() == OPENCODE_VERSION
        assert server_problem(server) is None
    finally:
        serve.kill()
