"""Configuration: the concurrency limit and the agent command templates.

The limit is looked up in kugetsu's order of precedence (first found wins):
env MAX_CONCURRENT_AGENTS, config.toml `max_concurrent_agents`, the legacy bash `config`,
then kugetsu's documented default of 3. An invalid value is never replaced by a default:
it is reported with its source, and starting is refused until it is fixed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any, NamedTuple

from kugetsu_tui.errors import KugetsuError
from kugetsu_tui.home import Home
from kugetsu_tui.opencode.commands import DEFAULT_TEMPLATES

DEFAULT_LIMIT = 3
LIMIT_ENV = "MAX_CONCURRENT_AGENTS"
LIMIT_KEY = "max_concurrent_agents"
_PLAIN_INT = re.compile(r"[0-9]+")


class Limit(NamedTuple):
    """The resolved cap: `value` is None exactly when `error` says why."""

    value: int | None
    source: str
    error: str | None = None


def _check(raw: str, source: str) -> Limit:
    text = raw.strip()
    if _PLAIN_INT.fullmatch(text) and len(text) <= 18 and int(text) >= 1:
        return Limit(int(text), source)
    return Limit(None, source, f"invalid limit {raw!r} from {source}: must be a whole number of at least 1")


def load_toml(home: Home) -> dict[str, Any]:
    """config.toml as a dict ({} when absent); a broken file is a clear error naming file and line."""
    path = home.config_toml
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise KugetsuError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise KugetsuError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise KugetsuError(f"{path} is not valid TOML: {exc}") from None


def _toml_limit(home: Home, value: Any) -> Limit:
    source = f"{home.config_toml} ({LIMIT_KEY})"
    if isinstance(value, int) and not isinstance(value, bool):
        # TOML also accepts 0x10, 1_000 and +3 as integers; the rule is a plain decimal.
        raw = _raw_toml_value(home, value)
        if raw is None:
            return Limit(
                None,
                source,
                f"invalid limit {value!r} from {source}: write it as a plain decimal `{LIMIT_KEY} = N` on its own line",
            )
        return _check(raw, source)
    return Limit(None, source, f"invalid limit {value!r} from {source}: must be a whole number of at least 1")


def _raw_toml_value(home: Home, value: int) -> str | None:
    pattern = re.compile(rf"""\s*(?:{LIMIT_KEY}|"{LIMIT_KEY}"|'{LIMIT_KEY}')\s*=\s*([^#\s]+)\s*(?:#.*)?""")
    found = None
    for line in home.config_toml.read_text("utf-8").splitlines():
        if line.strip().startswith("["):
            break  # only the top-level key counts
        match = pattern.fullmatch(line)
        if match:
            try:
                parsed = tomllib.loads(line)
            except tomllib.TOMLDecodeError:
                continue
            if parsed.get(LIMIT_KEY) == value and type(parsed.get(LIMIT_KEY)) is int:
                found = match.group(1)
    return found


def _legacy_limit(home: Home) -> Limit | None:
    """The last `MAX_CONCURRENT_AGENTS=` assignment in kugetsu's sourced bash config."""
    try:
        lines = home.legacy_config.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found = None
    pattern = re.compile(rf"\s*(?:export\s+)?{LIMIT_ENV}=(.*)")
    for line in lines:
        match = pattern.fullmatch(line)
        if match:
            found = _unquote_bash(match.group(1))
    if found is None:
        return None
    return _check(found, f"{home.legacy_config} ({LIMIT_ENV})")


def _unquote_bash(value: str) -> str:
    value = value.strip()
    quoted = re.fullmatch(r"""(["'])(.*?)\1(?:\s+#.*)?""", value)
    if quoted:
        return quoted.group(2)
    return re.sub(r"\s+#.*$", "", value)


def resolve_limit(home: Home, environ: Mapping[str, str] | None = None) -> Limit:
    env = os.environ if environ is None else environ
    raw = env.get(LIMIT_ENV, "")
    if raw != "":
        return _check(raw, f"environment variable {LIMIT_ENV}")
    try:
        toml = load_toml(home)
    except KugetsuError as exc:
        return Limit(None, str(home.config_toml), str(exc))
    if LIMIT_KEY in toml:
        return _toml_limit(home, toml[LIMIT_KEY])
    return _legacy_limit(home) or Limit(DEFAULT_LIMIT, "default")


def parse_limit_argument(text: str) -> int:
    limit = _check(text, "the command line")
    if limit.value is None:
        raise KugetsuError(limit.error or "invalid limit")
    return limit.value


def save_limit(home: Home, value: int) -> None:
    """Write `max_concurrent_agents` into config.toml, keeping its other keys."""
    import tomli_w

    from kugetsu_tui.atomic import write_bytes

    if value < 1:
        raise KugetsuError(f"invalid limit {value}: must be a whole number of at least 1")
    data = load_toml(home)
    data[LIMIT_KEY] = value
    home.ensure(home.root)
    write_bytes(home.config_toml, tomli_w.dumps(data).encode("utf-8"))


# --- agent command templates -------------------------------------------------------------

PLACEHOLDERS = frozenset({"base_session_id", "session_id", "issue_ref", "name", "message", "export_file"})
DEFAULT_START_WAIT = 20.0
DEFAULT_STALL_AFTER = 300.0
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")


class AgentConfig(NamedTuple):
    """argv templates per step (an empty list turns the step off) and launch settings."""

    templates: dict[str, list[str]]
    start_wait: float = DEFAULT_START_WAIT
    cwd: str | None = None
    server: str | None = None  # `opencode serve` URL: activity, permission asks, prompts through it
    stall_after: float = DEFAULT_STALL_AFTER  # seconds a running agent may stay silent before it is `stalled`

    def template(self, step: str) -> list[str]:
        return self.templates[step]


def load_agent_config(home: Home) -> AgentConfig:
    section = load_toml(home).get("agent", {})
    where = f"{home.config_toml} [agent]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    settings = ("start_wait", "cwd", "server", "stall_after")
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
    if isinstance(start_wait, bool) or not isinstance(start_wait, (int, float)) or start_wait < 0:
        raise KugetsuError(f"{where} start_wait must be a number of seconds >= 0")
    cwd = section.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise KugetsuError(f"{where} cwd must be a directory path string")
    server = section.get("server")
    if server is not None and (not isinstance(server, str) or not server.startswith("http://")):
        raise KugetsuError(f'{where} server must be the URL of `opencode serve`, e.g. "http://127.0.0.1:4096"')
    stall_after = section.get("stall_after", DEFAULT_STALL_AFTER)
    if isinstance(stall_after, bool) or not isinstance(stall_after, (int, float)) or stall_after <= 0:
        raise KugetsuError(f"{where} stall_after must be a number of seconds > 0")
    return AgentConfig(
        templates, float(start_wait), os.path.expanduser(cwd) if cwd else None, server or None, float(stall_after)
    )


def render(template: list[str], values: Mapping[str, str]) -> list[str]:
    """Fill placeholders element by element: a value never splits into extra arguments."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KugetsuError(f"the agent command needs {{{key}}}, which is not available for this step")
        return values[key]

    return [_PLACEHOLDER.sub(fill, element) for element in template]


def console_bell(home: Home) -> bool:
    """`[console] bell`: ring the terminal bell when a session wants the operator (default false)."""
    section = load_toml(home).get("console", {})
    where = f"{home.config_toml} [console]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    bell = section.get("bell", False)
    if not isinstance(bell, bool):
        raise KugetsuError(f"{where} bell must be true or false")
    return bell
