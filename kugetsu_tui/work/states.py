"""The one vocabulary of work states, shared by local git, the forge, the combined status and their users.

A `StrEnum`, so JSON and text show the bare value (`"merged"`), as they did when these were strings.
"""

from __future__ import annotations

from enum import StrEnum


class WorkState(StrEnum):
    MERGED = "merged"
    CLOSED = "closed"
    OPEN = "open"
    UNKNOWN = "unknown"

    @classmethod
    def cached(cls, value: object) -> WorkState | None:
        """The state a cache entry records, or None when it is not one (a dict lookup: `ls` reads thousands)."""
        return _BY_VALUE.get(value) if isinstance(value, str) else None


_BY_VALUE: dict[str, WorkState] = {state.value: state for state in WorkState}

#: Finished work: the PR merged or closed, the issue closed, or the branch merged; a clean-up may destroy it.
DONE_STATES = frozenset({WorkState.MERGED, WorkState.CLOSED})
