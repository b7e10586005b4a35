"""`[capacity]` in config.toml: when a slot holder counts as idle, and after how long idle one is parked.

[capacity]
idle_after = "30m"        # the footer's `· N idle`, the capacity view and `stats` (default 30 min)
park_idle_after = "2h"    # the console and `queue drain --watch` park such a session; absent: never

Both take a duration (`90s`, `30m`, `2h`, `1d`) or a number of seconds. Plain Python: read by the console,
`stats`, `metrics` and the drainer alike.
"""

from __future__ import annotations

from typing import Any

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.durations import parse_duration
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home

DEFAULT_IDLE_AFTER = 1800.0  # seconds: half an hour without work is a slot worth a look
CAPACITY_KEYS = ("idle_after", "park_idle_after")


def idle_after(home: Home) -> float:
    """`[capacity] idle_after`: seconds a dev session may sit idle before the footer and the view count it."""
    where, section = _section(home)
    value = section.get("idle_after", DEFAULT_IDLE_AFTER)
    return parse_duration(value, f"{where} idle_after")


def park_idle_after(home: Home) -> float | None:
    """Seconds idle after which the console and `queue drain --watch` park a dev session; None: never."""
    where, section = _section(home)
    value = section.get("park_idle_after")
    return None if value is None else parse_duration(value, f"{where} park_idle_after")


def _section(home: Home) -> tuple[str, dict[str, Any]]:
    section = load_toml(home).get("capacity", {})
    where = f"{home.config_toml} [capacity]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    unknown = sorted(set(section) - set(CAPACITY_KEYS))
    if unknown:
        raise KugetsuError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(CAPACITY_KEYS)}")
    return where, section
