"""Fixtures for the unit suite: every test gets its own temporary kugetsu home.

No test may see the operator's environment: MAX_CONCURRENT_AGENTS is removed and KUGETSU_HOME
points into the test's tmp_path, so ~/.kugetsu is never read or written. The working directory
is tmp_path too: agents started without `[agent] cwd` run there, and a start from inside a git
checkout (such as this repository) would give them worktrees of it. Agent processes a test
leaves behind (long --seconds demo agents) are killed at teardown.
"""

from __future__ import annotations

import pytest

from tests.helpers import demo_agent_config, demo_store, kill_recorded_processes, make_home


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("MAX_CONCURRENT_AGENTS", raising=False)
    monkeypatch.setenv("KUGETSU_HOME", str(tmp_path / "default-home-must-not-be-used"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))  # opencode's version is cached there
    monkeypatch.chdir(tmp_path)
    yield
    kill_recorded_processes(tmp_path)


@pytest.fixture
def home(tmp_path):
    """A kugetsu home with a real base session, configured for a demo agent that finishes at once."""
    home = make_home(tmp_path)
    demo_agent_config(home, seconds=0)
    return home


@pytest.fixture
def store(home):
    return demo_store(home)
