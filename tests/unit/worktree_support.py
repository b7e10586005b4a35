"""Real git repositories for the worktree tests, and a home whose [repos] points at one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kugetsu_tui.base.home import Home
from tests.helpers import demo_agent_config

REPO_KEY = "github.com/acme/widgets"
IDENTITY = ["-c", "user.name=kugetsu-tests", "-c", "user.email=tests@kugetsu.invalid", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"git {args} in {cwd}: {result.stderr}"
    return result.stdout.strip()


def make_repo(path: Path) -> Path:
    """A checkout on branch main with one commit (README.md, and a .gitignore ignoring *.log)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main", ".")
    (path / "README.md").write_text("# widgets\n")
    (path / ".gitignore").write_text("*.log\n")
    git(path, "add", "README.md", ".gitignore")
    git(path, "commit", "-q", "-m", "init")
    return path


def configure(home: Home, repos: dict[str, str], worktrees: dict[str, object] | None = None, **agent: object) -> None:
    """config.toml with [repos], [worktrees] and the demo agent's [agent] table."""
    import tomli_w

    data: dict[str, object] = {"repos": repos}
    if worktrees is not None:
        data["worktrees"] = worktrees
    home.ensure(home.root)
    home.config_toml.write_text(tomli_w.dumps(data))
    demo_agent_config(home, **agent)  # type: ignore[arg-type]


def branches(repo: Path) -> set[str]:
    return set(git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split())


def worktree_paths(repo: Path) -> list[str]:
    return [
        line[len("worktree ") :]
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]
