"""Durations as an operator writes them: `90s`, `30m`, `2h`, `1d`, or a bare number of seconds."""

from __future__ import annotations

import math

from kugetsu_tui.base.errors import KugetsuError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object, where: str) -> float:
    """Seconds (> 0, finite) from `2h`, `30m`, `90s`, `1d` or a number; one clear line otherwise."""
    if isinstance(value, bool):
        raise KugetsuError(f"{where} must be a duration such as 2h, 30m or 90s, not {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().lower()
        scale = UNITS.get(text[-1])
        try:
            seconds = float(text[:-1] if scale else text) * (scale or 1)
        except ValueError:
            raise KugetsuError(f"{where} must be a duration such as 2h, 30m or 90s, not {value!r}") from None
    else:
        raise KugetsuError(f"{where} must be a duration such as 2h, 30m or 90s, not {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise KugetsuError(f"{where} must be a duration over zero, such as 2h, 30m or 90s, not {value!r}")
    return seconds
