"""Plain-text formatting shared by the CLI and the console: escapes, ages, sizes.

Text from session files is untrusted: control characters (terminal escape sequences among
them) are shown as visible escapes, never sent to the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


def printable(value: object) -> str:
    if value is None:
        return ""
    return str(value).translate(_CONTROL)


def age(seconds: float | None, *, coarse: bool = False) -> str:
    """A compact age: 42s, 5m, 3h, 2d. `coarse` says <1m instead of counting seconds.

    The console uses coarse ages: a cell that changes every second would redraw the
    table every second for nothing.
    """
    if seconds is None or seconds < 0:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "<1m" if coarse else f"{int(seconds)}s"


def since(timestamp: float | None, now: float | None = None) -> str:
    if not timestamp:
        return ""
    return age((now or time.time()) - timestamp)


def megabytes(rss: int | None) -> str:
    return "" if rss is None else f"{rss / (1024 * 1024):.0f} MB"


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of already-printable cells as left-aligned columns, for the CLI's listings."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
