"""Notifications without a console: `queue drain --watch` with `[notify] by = "drain"` (a headless host).

Every `interval` seconds each session's activity is read as `ls --json` reads it (the opencode server
when one is configured, else the agents' own logs) and every change goes to the Notifier. The first
look only learns where each session is: a session already waiting when the drainer starts is no news.
"""

from __future__ import annotations

import asyncio

from kugetsu_tui.attention.notifier import Notifier
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.activity import activities
from kugetsu_tui.opencode.settings import load_agent_config
from kugetsu_tui.sessions.activities import ActivityInfo
from kugetsu_tui.sessions.overview import SessionView, overview

INTERVAL = 2.0  # seconds between looks: what the console's tick does for the rows on screen


class ActivityWatch:
    """Each session's activity as last seen, and the notifier told of every change."""

    def __init__(self, home: Home, notifier: Notifier) -> None:
        self.home = home
        self.notifier = notifier
        self._last: dict[str, ActivityInfo] = {}
        self._looked = False

    def look(self) -> None:
        """One look at every session; what stops it (a broken config.toml, an unreadable home) is reported once."""
        try:
            views = overview(self.home).sessions
            now = activities(self.home, views, load_agent_config(self.home))
            self._compare(views, now)
        except (KugetsuError, OSError) as exc:
            self.notifier.report(f"cannot read the sessions' activity: {exc}")

    def _compare(self, views: list[SessionView], now: dict[str, ActivityInfo]) -> None:
        issues = {v.session.name: v.session.issue_ref for v in views}
        for name, info in now.items():
            before = self._last.get(name)
            self._last[name] = info
            if self._looked:
                self.notifier.changed(name, issues.get(name), before, info)
        for gone in set(self._last) - set(now):
            del self._last[gone]
        self._looked = True


async def watch_until_stopped(watch: ActivityWatch, stop: asyncio.Event, interval: float = INTERVAL) -> None:
    """Look every `interval` seconds (in a thread: a server may take its 2 s) until `stop` is set."""
    while not stop.is_set():
        await asyncio.to_thread(watch.look)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
