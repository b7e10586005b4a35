"""The facts the watchdog rests on, with the real `opencode serve`: its heartbeats are `data:` events that our
reader yields (not SSE comments), so a stream carrying nothing for `[agent] event_timeout` (30 s) is dead."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kugetsu_tui.opencode.server import OpencodeServer
from kugetsu_tui.opencode.settings import DEFAULT_EVENT_TIMEOUT

from .harness import OpenCode, ServeProcess, free_port

pytestmark = pytest.mark.opencode


def test_heartbeats_reach_the_reader_about_every_10_s(opencode: OpenCode, opencode_project: Path) -> None:
    serve = ServeProcess(opencode, opencode_project, free_port()).start()
    try:
        beats: list[float] = []
        with OpencodeServer(serve.url).events(idle_timeout=DEFAULT_EVENT_TIMEOUT) as stream:
            events = iter(stream)
            assert next(events).type == "server.connected"
            for event in events:
                if event.type == "server.heartbeat":
                    beats.append(time.monotonic())
                    if len(beats) == 2:
                        break
        assert 5 < beats[1] - beats[0] < 15  # a reader sees one every ~10 s: 30 s is three missed
    finally:
        serve.kill()
