"""The concurrency limit: MAX_CONCURRENT_AGENTS, looked up in kugetsu's order of precedence.

First found wins: env MAX_CONCURRENT_AGENTS, config.toml `max_concurrent_agents`, the legacy bash
`config`, then kugetsu's documented default of 3. An invalid value is never replaced by a default:
it is reported with its source, and starting is refused until it is fixed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any, NamedTuple

from kugetsu_tui.base.config_file import config_text, load_toml
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home

DEFAULT_LIMIT = 3
LIMIT_ENV = "MAX_CONCURRENT_AGENTS"
LIMIT_KEY = "max_concurrent_agents"
_PLAIN_INT = re.compile(r"[0-9]+")


class Limit(NamedTuple):
    """The resolved cap: `value` is None exactly when `error` says why."""

    value: int | None
    source: str
    error: str | None = None


#: The largest limit taken: 18 digits, checked as text before any conversion.
MAX_LIMIT = 10**18 - 1
_RULE = f"must be a whole number from 1 to {MAX_LIMIT}"


def _check(raw: str, source: str) -> Limit:
    """Exactly a decimal number: whitespace around it is refused, never trimmed. kugetsu sources its
    config with bash, where `MAX_CONCURRENT_AGENTS= 3` assigns nothing, so the two tools could
    otherwise disagree about one line; a refused limit says so and refuses starts until it is fixed."""
    if raw.strip() != raw and _PLAIN_INT.fullmatch(raw.strip()):
        return Limit(None, source, f"invalid limit {raw!r} from {source}: whitespace around the number ({_RULE})")
    if _PLAIN_INT.fullmatch(raw) and len(raw) <= len(str(MAX_LIMIT)) and int(raw) >= 1:
        return Limit(int(raw), source)
    return Limit(None, source, f"invalid limit {raw!r} from {source}: {_RULE}")


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
    return Limit(None, source, f"invalid limit {value!r} from {source}: {_RULE}")


def _raw_toml_value(home: Home, value: int) -> str | None:
    pattern = re.compile(rf"""\s*(?:{LIMIT_KEY}|"{LIMIT_KEY}"|'{LIMIT_KEY}')\s*=\s*([^#\s]+)\s*(?:#.*)?""")
    found = None
    for line in config_text(home).splitlines():
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
    """The value as bash assigns it: quoted, the text inside; unquoted, up to the end of the line or a
    comment (a leading blank is kept: bash assigns nothing there, and _check refuses it)."""
    value = value.rstrip()
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

    from kugetsu_tui.base.atomic import write_bytes
    from kugetsu_tui.base.locking import sessions_lock
    from kugetsu_tui.sessions.ledger import Event, record_counted

    if not 1 <= value <= MAX_LIMIT:
        raise KugetsuError(f"invalid limit {value}: {_RULE}")
    data = {**load_toml(home), LIMIT_KEY: value}
    home.ensure(home.root)
    with sessions_lock(home):  # its ledger line lands in order with the admissions it governs
        write_bytes(home.config_toml, tomli_w.dumps(data).encode("utf-8"))
        record_counted(home, Event.LIMIT_CHANGED, None)
