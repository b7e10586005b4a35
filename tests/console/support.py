"""Helpers for the console tests: writing session files, setting the limit, waiting on the app."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import tomli_w

from kugetsu_tui.demo import demo_templates
from kugetsu_tui.home import Home

FIXED_NOW = 1_795_000_000.0  # a fixed "now" so ages in snapshots never change


def write_session(home: Home, name: str, data: dict | bytes, mtime: float | None = None) -> Path:
    path = home.session_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def set_limit(home: Home, limit: int | str, seconds: float = 0.3) -> None:
    """config.toml with the limit and demo-agent templates whose runs take `seconds`."""
    store = home.root / "demo-opencode"
    data = {"max_concurrent_agents": limit, "agent": demo_templates(store, seconds)}
    home.config_toml.write_text(tomli_w.dumps(data))


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)
