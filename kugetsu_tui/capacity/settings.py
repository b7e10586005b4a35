"""`[capacity]` in config.toml: when a slot holder counts as idle (plain Python, read by the console and `stats`)."""

from __future__ import annotations

import math

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home

DEFAULT_IDLE_AFTER = 1800.0  # seconds: half an hour without work is a slot worth a look
KEYS = ("idle_after",)


def idle_after(home: Home) -> float:
    """`[capacity] idle_after`: seconds a dev session may sit idle before the footer and the view count it."""
    section = load_toml(home).get("capacity", {})
    where = f"{home.config_toml} [capacity]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise KugetsuError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(KEYS)}")
    value = section.get("idle_after", DEFAULT_IDLE_AFTER)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise KugetsuError(f"{where} idle_after must be a finite number of seconds > 0 (not nan or inf)")
    return float(value)
