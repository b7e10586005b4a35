"""Plain-text formatting shared by the CLI and the console: escapes, ages, counts, sizes.

Text from session files is untrusted: control characters (terminal escape sequences among
them) are shown as visible escapes, never sent to the terminal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
# Bidi controls and line separators reorder or break what follows them on a terminal.
_CONTROL.update({i: f"\\u{i:04x}" for i in [0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]})
_CONTROL.update({i: f"\\u{i:04x}" for i in (0x2028, 0x2029)})
# Lone surrogates cannot be written as UTF-8 at all; U+DC80-U+DCFF are the bytes of a file name that is
# not UTF-8 (Python's surrogateescape), shown as the byte: `\xff`, which find_session takes back.
_CONTROL.update({i: f"\\u{i:04x}" for i in range(0xD800, 0xE000)})
_CONTROL.update({i: f"\\x{i - 0xDC00:02x}" for i in range(0xDC80, 0xDD00)})
_UNDECODABLE_IN_JSON = re.compile(r"(?<!\\ud[89ab][0-9a-f]{2})\\udc([89a-f][0-9a-f])")


def printable(value: object) -> str:
    if value is None:
        return ""
    return str(value).translate(_CONTROL)


def undecodable_as_text(json_text: str) -> str:
    """JSON (ensure_ascii) with each undecodable byte of a name as the text `\\xNN`, the way the text
    output shows it: a lone surrogate escape is not Unicode, and jq and others replace it."""
    return _UNDECODABLE_IN_JSON.sub(r"\\\\x\1", json_text) if "\\udc" in json_text else json_text


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


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 commit`, `2 commits`, `0 commits`: a count with its noun in the right number (the plural
    is `noun + "s"` unless given)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def head(reason: str) -> str:
    """The words of a reason before its first `: `. Our reasons are written head first (`invalid JSON:
    Expecting value (line 1, column 33)`), so a table cell shows the head and the preview the whole."""
    return reason.split(": ", 1)[0]


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
