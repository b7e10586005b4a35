"""The core never imports Textual: the CLI (and a PM agent calling it) must start fast."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.helpers import PY, cli_env, run_cli

CORE = ["kugetsu_tui", "kugetsu_tui.cli", "kugetsu_tui.actions", "kugetsu_tui.archive", "kugetsu_tui.overview",
        "kugetsu_tui.sessions", "kugetsu_tui.config", "kugetsu_tui.supervisor", "kugetsu_tui.admission",
        "kugetsu_tui.index", "kugetsu_tui.launch", "kugetsu_tui.locking", "kugetsu_tui.process",
        "kugetsu_tui.refs", "kugetsu_tui.display", "kugetsu_tui.home", "kugetsu_tui.atomic",
        "kugetsu_tui.errors", "kugetsu_tui.demo_agent", "kugetsu_tui.queue.commands", "kugetsu_tui.queue.drain",
        "kugetsu_tui.queue.follow", "kugetsu_tui.queue.manage", "kugetsu_tui.queue.settings"]

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))))
"""


def test_the_core_modules_import_no_textual():
    result = subprocess.run([PY, "-c", PROBE, *CORE], capture_output=True, text=True, timeout=60,
                            env=cli_env(None))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_probe_would_see_textual_if_it_were_imported():
    """Guards the check itself: the same probe reports textual when a module pulls it in."""
    result = subprocess.run([PY, "-c", PROBE, "textual.app"], capture_output=True, text=True, timeout=60,
                            env=cli_env(None))
    assert result.returncode == 0, result.stderr
    assert "textual" in json.loads(result.stdout)


@pytest.mark.parametrize("args", [("ls",), ("ls", "--json"), ("limit",), ("start", "bad ref", "x"), ("--help",),
                                  ("queue", "ls"), ("queue", "drain")])
def test_running_the_cli_imports_no_textual(home, args):
    result = run_cli(home, *args, python_flags=["-X", "importtime"])
    assert "kugetsu_tui.cli" in result.stderr  # importtime output is there
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")]
    assert not [m for m in imported if m == "textual" or m.startswith("textual.")]
    assert "textual" not in result.stderr
