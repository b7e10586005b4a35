"""The core never imports Textual, and the CLI's hot paths stay lean (it must start fast).

The list of core modules is built by walking the package, so a new module is checked the day it
is added; the console's model is Textual-free too, so it is tested without a screen.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess

import pytest

import kugetsu_tui
from kugetsu_tui.base.home import Home
from tests.helpers import PY, cli_env, run_cli, write_session

#: modules of the console that must stay plain Python
PLAIN_CONSOLE_MODULES = {"kugetsu_tui.console.model"}
#: what `ls --json` and a refused start must not import: the UI, and what costs CLI start-up time
SLOW_IMPORTS = ("textual", "rich", "psutil", "dataclasses", "uuid", "tempfile", "prometheus_client", "psycopg")

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))))
"""


def core_modules() -> list[str]:
    found = ["kugetsu_tui"]
    for info in pkgutil.walk_packages(kugetsu_tui.__path__, "kugetsu_tui."):
        if info.name.endswith(".__main__"):
            continue  # importing it runs the CLI
        in_console = info.name == "kugetsu_tui.console" or info.name.startswith("kugetsu_tui.console.")
        if not in_console or info.name in PLAIN_CONSOLE_MODULES:
            found.append(info.name)
    return found


def test_the_module_walk_finds_every_core_module() -> None:
    """Guards the walk itself: modules a hand-written list once missed are in it."""
    modules = core_modules()
    for name in (
        "kugetsu_tui.sessions.watch",
        "kugetsu_tui.base.inotify",
        "kugetsu_tui.demo.home",
        "kugetsu_tui.opencode.events",
        "kugetsu_tui.sessions.states",
        "kugetsu_tui.console.model",
    ):
        assert name in modules
    assert "kugetsu_tui.console.app" not in modules


def test_the_core_modules_import_no_textual_or_rich() -> None:
    result = subprocess.run(
        [PY, "-c", PROBE, *core_modules()], capture_output=True, text=True, timeout=60, env=cli_env(None)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_probe_would_see_textual_if_it_were_imported() -> None:
    """Guards the check itself: the same probe reports textual when a module pulls it in."""
    result = subprocess.run(
        [PY, "-c", PROBE, "kugetsu_tui.console.app"], capture_output=True, text=True, timeout=60, env=cli_env(None)
    )
    assert result.returncode == 0, result.stderr
    assert "textual" in json.loads(result.stdout)


def imported_modules(stderr: str) -> set[str]:
    """Top-level names of the modules `python -X importtime` reports."""
    return {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in stderr.splitlines() if line.startswith("import time:")
    }


def test_the_importtime_reader_sees_a_slow_import(home: Home) -> None:
    """Guards the check below: the console's path does import textual, and the reader sees it."""
    result = subprocess.run(
        [PY, "-X", "importtime", "-c", "import kugetsu_tui.console.app"],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(home),
    )
    assert "textual" in imported_modules(result.stderr)


@pytest.mark.parametrize("args", [("ls", "--json"), ("start", "acme/widgets#9", "refused at capacity")])
def test_the_hot_cli_paths_import_nothing_slow(home: Home, args: tuple[str, ...]) -> None:
    for n in range(3):
        write_session(home, f"github.com-acme-widgets-{n}")
    result = run_cli(home, *args, python_flags=["-X", "importtime"])
    if args[0] == "start":
        assert result.returncode == 2, result.stderr  # refused at capacity (3/3), as intended
    else:
        assert result.returncode == 0, result.stderr
    imported = imported_modules(result.stderr)
    assert "kugetsu_tui" in imported  # the importtime output is there
    assert not imported & set(SLOW_IMPORTS), sorted(imported & set(SLOW_IMPORTS))


@pytest.mark.parametrize("args", [("ls",), ("limit",), ("start", "bad ref", "x"), ("--help",)])
def test_running_the_cli_imports_no_textual(home: Home, args: tuple[str, ...]) -> None:
    result = run_cli(home, *args, python_flags=["-X", "importtime"])
    imported = imported_modules(result.stderr)
    assert "kugetsu_tui" in imported
    assert not imported & {"textual", "rich"}


def test_the_console_imports_no_action_machinery_before_its_first_frame() -> None:
    """Destroy, start and the worktrees are imported when used: before the first frame they cost start-up."""
    probe = "import sys, kugetsu_tui.console.app; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([PY, "-c", probe], capture_output=True, text=True, timeout=60, env=cli_env(None))
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "kugetsu_tui.console.main_screen" in loaded
    assert not loaded & {
        "kugetsu_tui.lifecycle.archive",
        "kugetsu_tui.lifecycle.start",
        "kugetsu_tui.worktrees",
        "psutil",
    }


def test_a_resume_refused_at_capacity_imports_nothing_slow(home: Home) -> None:
    for n in range(4):
        write_session(home, f"github.com-acme-widgets-{n}")
    home.parked_dir.mkdir()
    home.session_path("github.com-acme-widgets-3").rename(home.parked_dir / "github.com-acme-widgets-3.json")
    result = run_cli(home, "resume", "github.com-acme-widgets-3", python_flags=["-X", "importtime"])
    assert result.returncode == 2, result.stderr  # refused at capacity (3/3), as intended
    imported = imported_modules(result.stderr)
    assert "kugetsu_tui" in imported
    assert not imported & set(SLOW_IMPORTS), sorted(imported & set(SLOW_IMPORTS))
