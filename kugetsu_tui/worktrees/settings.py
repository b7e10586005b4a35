"""The `[repos]` and `[worktrees]` tables of config.toml, checked once with clear errors.

[repos]
"github.com/acme/widgets" = "~/src/widgets"

[worktrees]
enabled = true
root = "~/.kugetsu/worktrees"     # default: <KUGETSU_HOME>/worktrees
branch = "fix/issue-{number}"     # {number} {owner} {repo} {host} {name}
base = ""                         # empty: origin/HEAD, else the main checkout's branch
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home

DEFAULT_BRANCH = "fix/issue-{number}"
BRANCH_PLACEHOLDERS = frozenset({"number", "owner", "repo", "host", "name"})
WORKTREE_KEYS = ("enabled", "root", "branch", "base")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_REPO_KEY = re.compile(r"[A-Za-z0-9.-]+/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+")


class WorktreeSettings(NamedTuple):
    enabled: bool
    root: Path
    branch: str
    base: str
    repos: dict[str, Path]  # "host/owner/repo" (lower case) -> main checkout

    def repo_for(self, host: str, owner: str, repo: str) -> Path | None:
        return self.repos.get(f"{host}/{owner}/{repo}".lower())


def load_worktree_settings(home: Home) -> WorktreeSettings:
    data = load_toml(home)
    return WorktreeSettings(*_worktrees(home, data.get("worktrees", {})), repos=_repos(home, data.get("repos", {})))


def _worktrees(home: Home, section: Any) -> tuple[bool, Path, str, str]:
    where = f"{home.config_toml} [worktrees]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    unknown = sorted(set(section) - set(WORKTREE_KEYS))
    if unknown:
        raise KugetsuError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(WORKTREE_KEYS)}")
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise KugetsuError(f"{where} enabled must be true or false, not {enabled!r}")
    root = section.get("root", "")
    if not isinstance(root, str):
        raise KugetsuError(f"{where} root must be a directory path string")
    root_path = Path(os.path.expanduser(root)) if root else home.root / "worktrees"
    if not root_path.is_absolute():
        raise KugetsuError(f"{where} root must be an absolute path (or start with ~), not {root!r}")
    branch = section.get("branch", DEFAULT_BRANCH)
    if not isinstance(branch, str):
        raise KugetsuError(f"{where} branch must be a string such as {DEFAULT_BRANCH!r}")
    check_branch_template(branch, where)
    base = section.get("base", "")
    if not isinstance(base, str) or base.startswith("-"):
        raise KugetsuError(f"{where} base must be a branch or commit name (empty: the remote's default branch)")
    return enabled, root_path, branch, base


def check_branch_template(template: str, where: str) -> None:
    """Refuse unknown placeholders and stray braces before anything is created."""
    for placeholder in _PLACEHOLDER.findall(template):
        if placeholder not in BRANCH_PLACEHOLDERS:
            raise KugetsuError(
                f"invalid branch template {template!r} in {where}: unknown placeholder "
                f"{{{placeholder}}}; known: {', '.join(sorted(BRANCH_PLACEHOLDERS))}"
            )
    if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
        raise KugetsuError(f"invalid branch template {template!r} in {where}: unbalanced braces")
    if not template.strip():
        raise KugetsuError(f"invalid branch template {template!r} in {where}: it is empty")


def render_branch(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def _repos(home: Home, section: Any) -> dict[str, Path]:
    where = f"{home.config_toml} [repos]"
    if not isinstance(section, dict):
        raise KugetsuError(f'{where} must be a table of "host/owner/repo" = "path"')
    repos = {}
    for key, value in section.items():
        if not _REPO_KEY.fullmatch(key):
            raise KugetsuError(f'{where}: key {key!r} must look like "github.com/owner/repo"')
        if not isinstance(value, str) or not value.strip():
            raise KugetsuError(f"{where} {key!r} must be the path of a git checkout, not {value!r}")
        path = Path(os.path.expanduser(value))
        if not path.is_absolute():
            raise KugetsuError(f"{where} {key!r}: the path must be absolute (or start with ~), not {value!r}")
        repos[key.lower()] = path
    return repos
