"""Text with bullet points that wrap under their words, not under the bullet (a hanging indent).

The dialogs' bodies are plain strings (their tests read them); `bulleted` draws one, so that a bullet too
long for the dialog's width goes on under its first word and the next bullet stands out.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

BULLET = "• "


def bulleted(body: str) -> Group:
    """`body` drawn literally, its lines that start with a bullet wrapping with a hanging indent."""
    parts: list[Text | Table] = []
    grid: Table | None = None
    for line in body.split("\n"):
        if not line.startswith(BULLET):
            grid = None
            parts.append(Text(line))
            continue
        if grid is None:
            grid = Table.grid()
            grid.add_column(width=len(BULLET), no_wrap=True)
            grid.add_column(overflow="fold")
            parts.append(grid)
        grid.add_row(Text(BULLET), Text(line[len(BULLET) :]))
    return Group(*parts)
