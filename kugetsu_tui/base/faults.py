"""Crash-test hooks: the points between two durable effects where a process may die.

`KUGETSU_TUI_KILL_AT=N` makes the Nth fault point this process passes SIGKILL it, so a test can
kill a command at every step in turn (0 kills never); `KUGETSU_TUI_FAULT_TRACE=FILE` appends each
point's label to FILE, which tells the test how many there are. Unset, a point costs one dict lookup.
"""

from __future__ import annotations

import os

_passed = [0]
_setting: list[tuple[str, str]] = []


def fault_point(label: str) -> None:
    if not _setting:
        at = os.environ.get("KUGETSU_TUI_KILL_AT")
        if at is None:
            return
        # Only this process: the supervisor it launches must not count (or die at) points of its own.
        _setting.append((at, os.environ.pop("KUGETSU_TUI_FAULT_TRACE", "")))
        del os.environ["KUGETSU_TUI_KILL_AT"]
    at, trace = _setting[0]
    _passed[0] += 1
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(f"{_passed[0]} {os.getpid()} {label}\n")
    if at == str(_passed[0]):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
