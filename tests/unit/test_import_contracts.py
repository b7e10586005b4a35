"""The import gate (`lint-imports`, configured in pyproject.toml) fails on an import that runs up a layer.

Each test copies the package and the configuration, changes one import, and runs the gate on the copy,
as CI runs it on the tree: so a hole in the contracts (a function-level import that slips through, a
legitimate console widget that breaks them) fails here, not in review.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "kugetsu_tui", tmp_path / "kugetsu_tui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the copy, not the installed package
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


def append(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n\n" + code)


def test_the_tree_as_it_stands_keeps_both_contracts(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_core_module_importing_the_console_inside_a_function_fails_the_gate(tree: Path) -> None:
    append(
        tree / "kugetsu_tui/sessions/files.py",
        "def _sneaky() -> None:\n    from kugetsu_tui.console import rows  # noqa: F401\n",
    )
    result = lint(tree)
    assert result.returncode != 0
    assert "kugetsu_tui.sessions.files -> kugetsu_tui.console.rows" in result.stdout
    assert "BROKEN" in result.stdout


def test_a_lower_layer_importing_a_higher_one_fails_the_gate(tree: Path) -> None:
    append(tree / "kugetsu_tui/base/text.py", "from kugetsu_tui.lifecycle import prune  # noqa: E402,F401\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "kugetsu_tui.base.text -> kugetsu_tui.lifecycle.prune" in result.stdout


def test_siblings_of_one_layer_do_not_import_each_other(tree: Path) -> None:
    append(tree / "kugetsu_tui/work/status.py", "from kugetsu_tui.worktrees import settings  # noqa: E402,F401\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "kugetsu_tui.work.status -> kugetsu_tui.worktrees.settings" in result.stdout


def test_the_consoles_model_importing_textual_fails_the_gate(tree: Path) -> None:
    append(tree / "kugetsu_tui/console/model.py", "import textual  # noqa: E402,F401\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "kugetsu_tui.console.model -> textual" in result.stdout


def test_a_new_top_level_package_must_be_given_its_layer(tree: Path) -> None:
    (tree / "kugetsu_tui/stray").mkdir()
    (tree / "kugetsu_tui/stray/__init__.py").write_text('"""Not in any layer."""\n')
    result = lint(tree)
    assert result.returncode != 0
    assert "kugetsu_tui.stray" in result.stdout


def test_a_new_console_widget_using_textual_passes_without_an_ignore(tree: Path) -> None:
    (tree / "kugetsu_tui/console/new_widget.py").write_text(
        '"""A widget."""\n\nfrom textual.widgets import Static\n\nfrom kugetsu_tui.console import rows\n'
        "from kugetsu_tui.sessions.states import State\n\n__all__ = ['Static', 'State', 'rows']\n"
    )
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
