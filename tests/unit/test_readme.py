"""The README stays true to the code where that can be checked: commands, config keys, vocabularies, links.

Each check reads its facts from the code (the parser, the settings loaders, the enums), so a command,
option, key, state or activity added there fails here until the README names it.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.cli.main import build_parser
from kugetsu_tui.sessions.activities import Activity
from kugetsu_tui.sessions.states import State

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def section(text: str, heading: str) -> str:
    """The text under `## heading` up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README has no '## {heading}' section"
    return match.group(1)


def subsection(text: str, heading: str) -> str:
    """The text under `### heading` up to the next `##`/`###` heading."""
    match = re.search(rf"^### {re.escape(heading)}\n(.*?)(?=^###? |\Z)", text, re.S | re.M)
    assert match, f"no '### {heading}' subsection"
    return match.group(1)


def readme() -> str:
    return README.read_text("utf-8")


# --- the CLI ----------------------------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """Each optional argument's spellings (`-y`, `--yes`), and the choices of positional ones (allow|always|reject)."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            found.append(tuple(action.option_strings))
        elif action.choices:
            found.extend((str(choice),) for choice in action.choices)
    return found


def _synopsis() -> list[str]:
    block = re.search(r"```\n(.*?)```", section(readme(), "The CLI"), re.S)
    assert block, "the CLI section starts with a synopsis block"
    return block.group(1).splitlines()


def _synopsis_line(words: str) -> str:
    lines = [line for line in _synopsis() if re.match(rf"kugetsu-tui \[--home PATH\] {re.escape(words)}( |$)", line)]
    assert lines, f"the CLI synopsis has no line for `kugetsu-tui [--home PATH] {words}`"
    return " ".join(lines)


def commands() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every command the parser knows, as its words after the program name (`queue add`)."""
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for name, parser in _subcommands(build_parser()).items():
        nested = _subcommands(parser)
        found.extend((f"{name} {sub}", subparser) for sub, subparser in nested.items())
        if not nested:
            found.append((name, parser))
    return found


@pytest.mark.parametrize(("words", "parser"), commands(), ids=[words for words, _ in commands()])
def test_every_command_and_option_is_in_the_synopsis(words, parser):
    line = _synopsis_line(words)
    everywhere = set(_options(build_parser()))  # the global options: every command takes them, shown once
    for spellings in [o for o in _options(parser) if o not in everywhere]:
        assert any(re.search(rf"[ \[|]{re.escape(option)}(?=[ \]|])", f"{line} ") for option in spellings), (
            f"`kugetsu-tui {words}` takes {'/'.join(spellings)}, which its synopsis line does not show"
        )


def test_every_top_level_command_is_described_in_the_command_table():
    cli = section(readme(), "The CLI")
    for name in _subcommands(build_parser()):
        assert f"| `{name}` |" in cli, f"the CLI's command table has no row for `{name}`"


def test_the_global_options_are_in_the_synopsis():
    synopsis = "\n".join(_synopsis())
    for spellings in _options(build_parser()):
        assert any(option in synopsis for option in spellings)


# --- the configuration reference ----------------------------------------------------------------------


class _Recording(dict[str, Any]):
    """A config table that records each key the code asks for (get, [], in)."""

    def __init__(self, data: dict[str, Any], path: str, seen: set[tuple[str, str]]) -> None:
        super().__init__({k: _Recording(v, k, seen) if isinstance(v, dict) else v for k, v in data.items()})
        self._path, self._seen = path, seen

    def get(self, key: str, default: Any = None) -> Any:
        self._seen.add((self._path, key))
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._seen.add((self._path, key))
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._seen.add((self._path, str(key)))
        return super().__contains__(key)


def _load_everything(monkeypatch, home: Home, data: dict[str, Any]) -> set[tuple[str, str]]:
    """Run every loader of config.toml on `data`; the (table, key) pairs they asked for ("" is the top level)."""
    import kugetsu_tui.base.config_file as config_file
    from kugetsu_tui.attention.settings import load_notify_settings
    from kugetsu_tui.cluster.settings import load_cluster_settings
    from kugetsu_tui.console.settings import console_bell
    from kugetsu_tui.opencode.settings import load_agent_config
    from kugetsu_tui.queue.settings import console_drains
    from kugetsu_tui.sessions.capacity_settings import idle_after, park_idle_after
    from kugetsu_tui.sessions.limit import resolve_limit
    from kugetsu_tui.work.status import load_work_settings
    from kugetsu_tui.worktrees.settings import load_worktree_settings

    seen: set[tuple[str, str]] = set()
    fake = _Recording(data, "", seen)
    monkeypatch.setattr(config_file, "load_toml", lambda _home: fake)
    modules = ("console.settings", "opencode.settings", "queue.settings", "sessions.limit", "worktrees.settings")
    for module in (*modules, "sessions.capacity_settings", "attention.settings", "cluster.settings"):
        monkeypatch.setattr(f"kugetsu_tui.{module}.load_toml", lambda _home: fake)
    for loader in (
        lambda: resolve_limit(home, environ={}),
        lambda: load_agent_config(home),
        lambda: load_worktree_settings(home),
        lambda: load_work_settings(home),
        lambda: console_drains(home),
        lambda: console_bell(home),
        lambda: park_idle_after(home),
        lambda: load_notify_settings(home),
        lambda: idle_after(home),
        lambda: load_cluster_settings(home),
    ):
        try:
            loader()
        except KugetsuError as error:  # an unknown key: the message lists the known ones
            for known in re.findall(r"known: ([^;(]*)", str(error)):
                seen.update(("?", key.strip()) for key in known.split(",") if re.fullmatch(r"\w+", key.strip()))
    return seen


def config_keys(monkeypatch, tmp_path) -> set[tuple[str, str]]:
    """Every (table, key) that config.toml's loaders read: asked for directly, or named as known when a key
    is unknown. Forge host tables are reported as `forge.HOST`."""
    home = Home(tmp_path)
    tables: dict[str, Any] = {
        "agent": {},
        "worktrees": {},
        "repos": {},
        "forge": {"example.org": {}},
        "queue": {},
        "console": {},
        "capacity": {},
        "notify": {},
        "cluster": {},
    }
    seen = _load_everything(monkeypatch, home, tables)
    unknown_key = {
        name: {"surely-not-a-key": 1} for name in ("agent", "worktrees", "queue", "notify", "capacity", "cluster")
    }
    for name, table in unknown_key.items():
        found = _load_everything(monkeypatch, home, {name: table})
        seen |= {(name, key) for where, key in found if where == "?"}
    found = _load_everything(monkeypatch, home, {"forge": {"surely-not-a-key": 1}})
    seen |= {("forge", key) for where, key in found if where == "?"}
    found = _load_everything(monkeypatch, home, {"forge": {"example.org": {"surely-not-a-key": 1}}})
    seen |= {("forge.HOST", key) for where, key in found if where == "?"}
    renamed = {("forge.HOST" if table == "example.org" else table, key) for table, key in seen}
    return {(t, k) for t, k in renamed if t != "?" and k != "surely-not-a-key"}


def test_the_config_key_finder_finds_what_the_loaders_read(monkeypatch, tmp_path):
    keys = config_keys(monkeypatch, tmp_path)
    # Spot checks that the finder works (the whole list comes from the code, not from here).
    assert {("", "max_concurrent_agents"), ("agent", "stall_after"), ("console", "bell")} <= keys
    assert {("forge", "interval"), ("forge.HOST", "token_env"), ("queue", "drain")} <= keys


def test_every_config_key_the_code_reads_is_in_the_reference(monkeypatch, tmp_path):
    reference = section(readme(), "Configuration reference")
    where = {"": "Top level", "agent": "`[agent]`", "worktrees": "`[worktrees]` and `[repos]`"}
    where |= {"repos": "`[worktrees]` and `[repos]`", "forge": "`[forge]`", "forge.HOST": "`[forge]`"}
    where |= {"queue": "`[queue]`", "console": "`[console]`", "capacity": "`[capacity]`", "notify": "`[notify]`"}
    where |= {"cluster": "`[cluster]`"}
    for table, key in sorted(config_keys(monkeypatch, tmp_path)):
        if table == "":
            if key in where:  # a table: it has its own subsection
                subsection(reference, where[key])
                continue
            text = subsection(reference, where[""])
        else:
            text = subsection(reference, where[table])
        spelled = f'`[forge."HOST"] {key}`' if table == "forge.HOST" else f"`{key}`"
        assert f"| {spelled} |" in text, f"the configuration reference has no row for {table or 'top level'} {key}"


# --- vocabularies --------------------------------------------------------------------------------------


def _table_rows(text: str) -> set[str]:
    """The first cell of each table row, split at commas (`| left, used |`)."""
    cells = re.findall(r"^\| ([^|]+?) \|", text, re.M)
    return {part.strip().strip("`") for cell in cells for part in cell.split(",")}


def test_every_state_is_explained():
    rows = _table_rows(subsection(section(readme(), "The console"), "States"))
    assert {state.value for state in State} <= rows


def test_every_activity_is_explained():
    rows = _table_rows(subsection(section(readme(), "The console"), "Activities"))
    assert {activity.value for activity in Activity} <= rows


# --- links and the quick start -------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text("utf-8"), flags=re.S | re.M)
    return {_slug(heading) for heading in re.findall(r"^#{1,6} (.+)$", text, re.M)}


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_and_heading_that_exist(page):
    text = re.sub(r"^```.*?^```", "", page.read_text("utf-8"), flags=re.S | re.M)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links or page != README
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue  # an absolute URL
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name} links to {link}, which does not exist"
        if anchor:
            assert anchor in _anchors(path), f"{page.name} links to {link}: no such heading in {path.name}"


def test_every_doc_is_linked_from_the_readme_and_back():
    text = readme()
    for doc in DOCS:
        assert f"](docs/{doc.name})" in text, f"README does not link to docs/{doc.name}"
        assert "](../README.md" in doc.read_text("utf-8"), f"docs/{doc.name} does not link back to the README"


def test_the_readme_test_command_is_what_ci_runs():
    quick_start = section(readme(), "Quick start")
    commands = re.findall(r"^python3 -m venv .*$", quick_start, re.M)
    assert len(commands) == 2, "the quick start has exactly two commands: the demo and the test suite"
    test_command = next(command for command in commands if "pytest" in command)
    ci = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    assert test_command in ci, ".ci/run must run the README's test command verbatim"


def test_the_screenshots_the_readme_shows_exist_and_are_made_by_the_generator():
    shown = set(re.findall(r"\]\(screenshots/([\w.-]+\.svg)\)", readme()))
    generator = (ROOT / "screenshots" / "generate.py").read_text("utf-8")
    assert shown
    for name in shown:
        assert (ROOT / "screenshots" / name).exists()
        assert f'"{name}"' in generator, f"screenshots/{name} is not made by screenshots/generate.py"
