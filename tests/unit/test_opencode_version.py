"""opencode's generation is checked before we call it: a stand-in `opencode` on PATH that says 2.x is refused in one
line, its answer is cached by the program file, and a server that says 2.x in /global/health is refused too.
The real opencode's answers are checked in tests/opencode/test_version_real_opencode.py."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.server import OpencodeServer
from kugetsu_tui.opencode.server_activity import ActivityTracker, follow
from kugetsu_tui.opencode.version import (
    cache_path,
    check_program,
    check_server,
    generation_problem,
    parse_version,
    program_version,
)
from tests.helpers import assert_one_line_error, demo_agent_config, dev_files, run_cli
from tests.unit.opencode_server_fake import Answer, fake_opencode_server

START = ["opencode", "run", "--session", "{base_session_id}", "--fork", "--format", "json", "--", "{message}"]


def stand_in(tmp_path: Path, says: str, name: str = "opencode") -> tuple[Path, Path]:
    """An `opencode` that prints `says` and counts its runs in a file; (its directory, the count file)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    count = tmp_path / "runs"
    program = bin_dir / name
    program.write_text(f'#!/bin/sh\necho "$@" >> "{count}"\necho "{says}"\n')
    program.chmod(0o755)
    return bin_dir, count


def runs(count: Path) -> int:
    return len(count.read_text().splitlines()) if count.exists() else 0


@pytest.mark.parametrize(
    ("text", "version"),
    [("1.18.33\n", "1.18.33"), ("opencode 2.0.0-beta.3", "2.0.0-beta.3"), ("v1.2", "1.2"), ("no version here", None)],
)
def test_the_version_is_read_from_what_the_program_prints(text: str, version: str | None) -> None:
    assert parse_version(text) == version


def test_a_major_other_than_1_is_refused_naming_what_was_found_and_what_to_install() -> None:
    assert generation_problem("1.18.33", "opencode") is None
    assert generation_problem("2.0.0", "`opencode --version`") == (
        "`opencode --version` says 2.0.0: kugetsu-tui drives opencode 1.x only; "
        "install opencode-ai 1.x (npm install -g opencode-ai@1.18.33)"
    )


def test_the_answer_is_cached_by_path_mtime_and_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, count = stand_in(tmp_path, "1.18.33")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert program_version("opencode") == "1.18.33"
    assert program_version("opencode") == "1.18.33"
    assert program_version(str(bin_dir / "opencode")) == "1.18.33"
    assert runs(count) == 1  # asked once, then read from the cache
    assert cache_path() == tmp_path / "xdg-cache" / "kugetsu-tui" / "opencode-versions.json"
    assert str(bin_dir / "opencode") in cache_path().read_text()

    program = bin_dir / "opencode"
    program.write_text(program.read_text().replace("1.18.33", "2.0.0"))  # an upgrade: another size
    assert program_version("opencode") == "2.0.0"
    stamp = program.stat()
    os.utime(program, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))  # same size, new mtime
    assert program_version("opencode") == "2.0.0"
    assert runs(count) == 3


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_path() == tmp_path / ".cache" / "kugetsu-tui" / "opencode-versions.json"


def test_an_unreadable_version_or_another_program_is_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, count = stand_in(tmp_path, "hello")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    check_program(["opencode", "run"])  # it cannot tell: the call itself will say what is wrong
    check_program(["python3", "-m", "kugetsu_tui.demo.agent"])  # not opencode: never run with --version
    assert runs(count) == 1


def test_start_with_opencode_2_on_path_is_refused_in_one_line_and_leaves_nothing(home: Home, tmp_path: Path) -> None:
    bin_dir, count = stand_in(tmp_path, "2.0.0")
    demo_agent_config(home, start=START)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}
    result = run_cli(home, "start", "acme/widgets#3", "fix it", env=env)
    assert_one_line_error(result, 1, "`opencode --version` says 2.0.0", "install opencode-ai 1.x")
    assert dev_files(home) == []
    assert runs(count) == 1  # only `--version`: nothing else was run

    ls = run_cli(home, "ls", "--json", env=env)
    assert ls.returncode == 0
    assert runs(count) == 1  # ls never runs opencode


def test_a_server_that_says_2_is_refused_and_one_that_says_1_is_not(home: Home) -> None:
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/global/health")] = Answer(200, {"healthy": True, "version": "1.18.33"})
        check_server(fake.url)
        fake.routes[("GET", "/global/health")] = Answer(200, {"healthy": True, "version": "2.3.0"})
        with pytest.raises(
            KugetsuError, match=r"the opencode server http://127\.0\.0\.1:\d+ \(GET /global/health\) says 2\.3\.0"
        ):
            check_server(fake.url)

        demo_agent_config(home, server=fake.url)
        result = run_cli(home, "start", "acme/widgets#4", "fix it")
        assert_one_line_error(result, 1, "says 2.3.0", "install opencode-ai 1.x")
        assert dev_files(home) == []
        assert_one_line_error(run_cli(home, "permissions"), 1, "says 2.3.0")


def test_the_follower_reports_a_server_of_another_generation_as_down() -> None:
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/global/health")] = Answer(200, {"healthy": True, "version": "2.3.0"})
        stop = threading.Event()
        reasons: list[str] = []

        def down(reason: str) -> None:
            reasons.append(reason)
            stop.set()

        follow(OpencodeServer(fake.url), ActivityTracker(), lambda: [None], stop, lambda _sid: None, down)
        assert "says 2.3.0" in reasons[0] and "install opencode-ai 1.x" in reasons[0]
