"""Tokens and cost per session, as opencode's server counts them (`GET /session`, per directory).

Each session object carries `tokens {input, output, reasoning, cache {read, write}}` and `cost` (in
the provider's currency unit; 0 where the provider reports no price). A parent's totals leave out
its subagents' (opencode #5951). Only a server is asked: without one, `usage` is not known.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from kugetsu_tui.opencode.server import OpencodeServer


class Usage(NamedTuple):
    input: int
    output: int
    reasoning: int
    cache_read: int
    cache_write: int
    cost: float | None  # None: the session says no cost

    def as_json(self) -> dict[str, Any]:
        return self._asdict()

    def compact(self) -> str:
        """The tokens worked (input, output, reasoning) in a few characters, for a table cell: `2.5k`, `31k`, `1.2M`."""
        total = self.input + self.output + self.reasoning
        for limit, unit in ((1_000_000, "M"), (1_000, "k")):
            if total >= limit:
                amount = total / limit
                return f"{amount:.1f}{unit}" if amount < 10 else f"{amount:.0f}{unit}"
        return str(total)

    def brief(self) -> str:
        """`2,455 in · 3 out · cache 0/0 · $0.0000` for a details line."""
        words = f"{self.input:,} in · {self.output:,} out"
        if self.reasoning:
            words += f" · {self.reasoning:,} reasoning"
        words += f" · cache {self.cache_read:,}/{self.cache_write:,}"
        return words + (f" · ${self.cost:.4f}" if self.cost is not None else "")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_usage(session: dict[str, Any]) -> Usage | None:
    """A session object's usage; None when it carries no `tokens`."""
    tokens = session.get("tokens")
    if not isinstance(tokens, dict):
        return None
    cache = tokens.get("cache")
    if not isinstance(cache, dict):
        cache = {}
    cost = session.get("cost")
    return Usage(
        _count(tokens.get("input")),
        _count(tokens.get("output")),
        _count(tokens.get("reasoning")),
        _count(cache.get("read")),
        _count(cache.get("write")),
        float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
    )


def usages(server: OpencodeServer, directories: Iterable[str | None]) -> dict[str, Usage]:
    """Each session's usage by opencode id, from every directory once; raises ServerUnavailable."""
    found: dict[str, Usage] = {}
    for directory in dict.fromkeys(directories):
        for session in server.sessions(directory):
            sid, usage = session.get("id"), parse_usage(session)
            if isinstance(sid, str) and usage is not None:
                found.setdefault(sid, usage)
    return found
