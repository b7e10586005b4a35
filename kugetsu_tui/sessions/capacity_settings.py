"""`[capacity]` in config.toml: `park_idle_after`, after how long idle a dev session is parked (off by default).

[capacity]
park_idle_after = "2h"   # or a number of seconds; absent: nothing is parked by itself
"""

from __future__ import annotations

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.durations import parse_duration
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home

CAPACITY_KEYS = ("park_idle_after",)


def park_idle_after(home: Home) -> float | None:
    """Seconds idle after which the console and `queue drain --watch` park a dev session; None: never."""
    section = load_toml(home).get("capacity", {})
    where = f"{home.config_toml} [capacity]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    unknown = sorted(set(section) - set(CAPACITY_KEYS))
    if unknown:
        raise KugetsuError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(CAPACITY_KEYS)}")
    value = section.get("park_idle_after")
    return None if value is None else parse_duration(value, f"{where} park_idle_after")
