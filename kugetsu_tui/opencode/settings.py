"""`[agent]` in config.toml: the argv templates of each opencode step and the launch settings."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import NamedTuple

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.commands import DEFAULT_TEMPLATES

PLACEHOLDERS = frozenset({"base_session_id", "session_id", "issue_ref", "name", "message", "export_file"})
DEFAULT_START_WAIT = 20.0
DEFAULT_STALL_AFTER = 300.0
#: opencode's server sends a heartbeat event every 10 s: three missed ones mean the stream is dead.
DEFAULT_EVENT_TIMEOUT = 30.0
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")


class AgentConfig(NamedTuple):
    """argv templates per step (an empty list turns the step off) and launch settings."""

    templates: dict[str, list[str]]
    start_wait: float = DEFAULT_START_WAIT
    cwd: str | None = None
    server: str | None = None  # `opencode serve` URL: activity, permission asks, prompts through it
    stall_after: float = DEFAULT_STALL_AFTER  # seconds a running agent may stay silent before it is `stalled`
    event_timeout: float = DEFAULT_EVENT_TIMEOUT  # seconds without any server event before reconnecting

    def template(self, step: str) -> list[str]:
        return self.templates[step]


def load_agent_config(home: Home) -> AgentConfig:
    section = load_toml(home).get("agent", {})
    where = f"{home.config_toml} [agent]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    settings = ("start_wait", "cwd", "server", "stall_after", "event_timeout")
    unknown = sorted(set(section) - set(DEFAULT_TEMPLATES) - set(settings))
    if unknown:
        raise KugetsuError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join([*DEFAULT_TEMPLATES, *settings])}")
    templates = dict(DEFAULT_TEMPLATES)
    for step in DEFAULT_TEMPLATES:
        if step not in section:
            continue
        value = section[step]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KugetsuError(f"{where} {step} must be a list of strings (an argv), e.g. {DEFAULT_TEMPLATES[step]}")
        for element in value:
            for placeholder in _PLACEHOLDER.findall(element):
                if placeholder not in PLACEHOLDERS:
                    raise KugetsuError(
                        f"{where} {step}: unknown placeholder {{{placeholder}}}; "
                        f"known: {', '.join(sorted(PLACEHOLDERS))}"
                    )
        templates[step] = value
    start_wait = section.get("start_wait", DEFAULT_START_WAIT)
    if not _finite(start_wait) or start_wait < 0:  # nan compares false with everything: start never timed out
        raise KugetsuError(f"{where} start_wait must be a finite number of seconds >= 0 (not nan or inf)")
    cwd = section.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise KugetsuError(f"{where} cwd must be a directory path string")
    server = section.get("server")
    if server is not None and (not isinstance(server, str) or not server.startswith("http://")):
        raise KugetsuError(f'{where} server must be the URL of `opencode serve`, e.g. "http://127.0.0.1:4096"')
    stall_after = section.get("stall_after", DEFAULT_STALL_AFTER)
    if not _finite(stall_after) or stall_after <= 0:
        raise KugetsuError(f"{where} stall_after must be a finite number of seconds > 0 (not nan or inf)")
    event_timeout = section.get("event_timeout", DEFAULT_EVENT_TIMEOUT)
    if not _finite(event_timeout) or event_timeout <= 0:
        raise KugetsuError(f"{where} event_timeout must be a finite number of seconds > 0 (not nan or inf)")
    return AgentConfig(
        templates,
        float(start_wait),
        os.path.expanduser(cwd) if cwd else None,
        server or None,
        float(stall_after),
        float(event_timeout),
    )


def _finite(value: object) -> bool:
    """A TOML number that is a real amount: not a boolean, nan or inf (TOML has both)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def render(template: list[str], values: Mapping[str, str]) -> list[str]:
    """Fill placeholders element by element: a value never splits into extra arguments."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KugetsuError(f"the agent command needs {{{key}}}, which is not available for this step")
        return values[key]

    argv = []
    for element in template:
        filled = _PLACEHOLDER.sub(fill, element)
        # A value that is a whole argument before any `--` would be read as an option (`--share`).
        if filled.startswith("-") and _PLACEHOLDER.fullmatch(element) and "--" not in argv:
            raise KugetsuError(
                f"refusing to pass {filled[:40]!r} as {element}: a value starting with '-' reads as an option"
            )
        argv.append(filled)
    return argv
