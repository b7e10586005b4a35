"""`ls --json` at scale: one session per line (json's C encoder), files read by their size."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.files import read_session
from tests.helpers import run_cli, write_session


def test_ls_json_puts_one_session_per_line_and_parses_as_before(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    for number in range(3):
        write_session(home, f"github.com-acme-widgets-{number}", error='line one\nline "two"')
    result = run_cli(home, "ls", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and lines[3] == '  "sessions": ['
    rows = [json.loads(line.strip().rstrip(",")) for line in lines if line.startswith("    {")]
    assert [row["name"] for row in rows] == [s["name"] for s in json.loads(result.stdout)["sessions"]]
    assert len(rows) == 3 and rows[0]["error"] == 'line one\nline "two"'


def test_ls_json_with_no_sessions_is_still_json(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.ensure(home.root, home.sessions_dir)
    result = run_cli(home, "ls", "--json")
    assert json.loads(result.stdout)["sessions"] == [] and '"sessions": [],' in result.stdout


def test_a_file_that_grew_after_its_stat_is_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home(tmp_path / "home")
    path = write_session(home, "github.com-acme-widgets-1", note="x" * 5000)
    real_lstat = os.lstat

    def stale_lstat(target: object) -> os.stat_result:
        info = real_lstat(target)  # type: ignore[arg-type]
        fields = list(info)
        fields[6] = 10  # st_size as it was before the writer finished
        return os.stat_result(fields)

    monkeypatch.setattr(os, "lstat", stale_lstat)
    session = read_session(path)
    assert session.error is None and session.data["note"] == "x" * 5000
