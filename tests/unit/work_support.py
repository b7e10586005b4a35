"""Shared by the work-status tests: real git repositories, and config.toml pointing the forge at a test server."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from kugetsu_tui.base.home import Home

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def commit(repo: Path, name: str, text: str, message: str | None = None) -> None:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message or f"{name}: {text[:20]}")


def make_repo(tmp_path: Path) -> Path:
    """main with a README and ten lines in lib.txt, and branch `feat` created from it (no commits yet)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "README", "hello\n")
    commit(repo, "lib.txt", "".join(f"line {i}\n" for i in range(10)))
    git(repo, "branch", "feat")
    return repo


def work_on_feat(repo: Path) -> None:
    """Two commits on feat, then back on main with one unrelated commit of its own."""
    git(repo, "checkout", "-q", "feat")
    commit(repo, "feature.txt", "one\n")
    commit(repo, "lib.txt", "".join(f"line {i}{' changed' if i == 2 else ''}\n" for i in range(10)))
    git(repo, "checkout", "-q", "main")
    commit(repo, "other.txt", "base moved on\n")


def set_forge(home: Home, forge: dict[str, Any], worktrees: dict[str, Any] | None = None) -> None:
    """Put `[forge]` (and `[worktrees]`) into config.toml, keeping its other tables."""
    path = home.config_toml
    data = tomllib.loads(path.read_text("utf-8")) if path.exists() else {}
    data["forge"] = forge
    if worktrees is not None:
        data["worktrees"] = worktrees
    path.write_text(tomli_w.dumps(data))
