"""Fixtures for the real-opencode tests (helpers in harness.py, the model server in fake_model.py).

- ``opencode_bin``: the pinned npm package ``opencode-ai`` installed under ``<repo>/.opencode``
  (git-ignored); skipped when npm or the install is missing, but a hard failure under CI.
- ``fake_model``: an OpenAI-compatible server on 127.0.0.1, for the whole test session.
- ``opencode_env``: an isolated HOME / XDG_* for opencode, shared by the whole test session so
  opencode's one-time fetch from the npm registry is paid once, plus the env vars that keep it off
  every other network. The real user's ~/.config/opencode and ~/.local/share/opencode are never read
  or written.
- ``opencode_project``: a git project directory (opencode's cwd) for the session.
- ``opencode``: an :class:`~tests.opencode.harness.OpenCode` runner bound to that env and project.
- ``base_session``: one base session (``opencode run --format json hello``) in that project.
- ``make_project``: a factory of further, separate project directories.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .fake_model import FakeModelServer
from .harness import OFFLINE_ENV, SCRUBBED, SCRUBBED_PREFIXES, OpenCode, ensure_opencode, init_git_project


@pytest.fixture(scope="session")
def opencode_bin() -> Path:
    return ensure_opencode()


@pytest.fixture(scope="session")
def fake_model() -> Iterator[FakeModelServer]:
    server = FakeModelServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def opencode_env(
    opencode_bin: Path, fake_model: FakeModelServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment for opencode (and for our CLI when it calls opencode): an isolated HOME."""
    home = tmp_path_factory.mktemp("opencode-home")
    xdg = {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
    }
    for path in xdg.values():
        path.mkdir(parents=True, exist_ok=True)
    config_dir = xdg["XDG_CONFIG_HOME"] / "opencode"
    config_dir.mkdir()
    config = {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            "fake": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Fake",
                "options": {"baseURL": fake_model.base_url, "apiKey": "x"},
                "models": {"fake": {"name": "fake"}},
            }
        },
        "model": "fake/fake",
        "small_model": "fake/fake",
        "autoupdate": False,
        "share": "disabled",
    }
    (config_dir / "opencode.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES) and k not in SCRUBBED}
    env.update({k: str(v) for k, v in xdg.items()})
    env["HOME"] = str(home)
    env.update(OFFLINE_ENV)
    env["PATH"] = os.pathsep.join([str(opencode_bin.parent), env.get("PATH", os.defpath)])
    env["NO_COLOR"] = "1"
    # Git in the scratch projects must not read the real user's ~/.gitconfig either.
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


@pytest.fixture(scope="session")
def opencode_project(opencode_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory opencode runs in (the session-wide project)."""
    return init_git_project(tmp_path_factory.mktemp("opencode-project"), opencode_env, "session project")


@pytest.fixture(scope="session")
def opencode(opencode_bin: Path, opencode_env: dict[str, str], opencode_project: Path) -> OpenCode:
    return OpenCode(opencode_bin, opencode_env, opencode_project)


@pytest.fixture(scope="session")
def base_session(opencode: OpenCode) -> str:
    """A base session in the session-wide project (its first call also warms opencode's HOME)."""
    return opencode.create_session("hello")


@pytest.fixture
def make_project(opencode_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    """Factory: a fresh git project directory of its own (its own opencode project)."""

    def make(name: str = "project") -> Path:
        return init_git_project(tmp_path_factory.mktemp(name), opencode_env, name)

    return make
