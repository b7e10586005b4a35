"""Fixtures for the console tests: homes with known content."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.demo.home import create_demo_home
from tests.helpers import FIXED_NOW, set_limit, write_session


@pytest.fixture(autouse=True)
def no_env_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MAX_CONCURRENT_AGENTS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))  # opencode's version is cached there
    monkeypatch.chdir(tmp_path)  # not this repository's checkout: a start there would make worktrees of it


@pytest.fixture
def static_home(tmp_path: Path) -> Home:
    """A home with fixed ids and times (no processes): for snapshots and layout tests."""
    home = Home(tmp_path / "home")
    home.ensure()
    set_limit(home, 3)

    def iso(hours_ago: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(FIXED_NOW - hours_ago * 3600))

    write_session(
        home,
        "base",
        {"type": "base", "opencode_session_id": "ses_base0000000000000000000", "created_at": iso(72), "state": "idle"},
        mtime=FIXED_NOW - 3600,
    )
    write_session(
        home,
        "pm-agent",
        {
            "type": "pm_agent",
            "opencode_session_id": "ses_pm00000000000000000000",
            "created_at": iso(70),
            "state": "idle",
        },
        mtime=FIXED_NOW - 1800,
    )
    write_session(
        home,
        "github.com-acme-widgets-12",
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#12",
            "opencode_session_id": "ses_dev12000000000000000000",
            "created_at": iso(30),
            "state": "idle",
            "exit_code": 0,
        },
        mtime=FIXED_NOW - 600,
    )
    write_session(
        home,
        "github.com-acme-widgets-15",
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#15",
            "opencode_session_id": "ses_dev15000000000000000000",
            "created_at": iso(5),
            "state": "failed",
            "exit_code": 1,
            "error": "exit status 1",
        },
        mtime=FIXED_NOW - 120,
    )
    write_session(home, "github.com-acme-widgets-16", b'{"type": "forked", "issue_ref": ', mtime=FIXED_NOW - 60)
    return home


@pytest.fixture
def demo_home(tmp_path: Path) -> Home:
    """A demo home whose simulated agent runs for a fraction of a second."""
    home = create_demo_home(tmp_path / "home", live_agent=False)
    set_limit(home, 5)
    return home
