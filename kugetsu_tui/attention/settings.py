"""`[notify]` in config.toml: which process notifies, and which channels for which transitions.

A transition is named by the activity a session enters: `needs_input`, `denied`, `stalled`, `error`,
or `idle` (after work). Each channel has its switch (`desktop`, `terminal`, `webhook` = a URL) and
its list of transitions (`desktop_on`, `terminal_on`, `webhook_on`; default: all five).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.activities import Activity

TRANSITIONS: tuple[Activity, ...] = (
    Activity.NEEDS_INPUT,
    Activity.DENIED,
    Activity.STALLED,
    Activity.ERROR,
    Activity.IDLE,
)
NOTIFIERS = ("console", "drain")
CHANNELS = ("desktop", "terminal", "webhook")
KEYS = ("by", "desktop", "terminal", "webhook", "desktop_on", "terminal_on", "webhook_on")


class NotifySettings(NamedTuple):
    by: str = "console"  # the process that notifies: the console, or `queue drain --watch` on a headless host
    desktop: bool = True  # notify-send, where it is on PATH
    terminal: bool = True  # OSC 777 / OSC 9 to the terminal the notifying process runs in
    webhook: str | None = None  # a URL: a JSON POST per notification (never logged)
    desktop_on: frozenset[Activity] = frozenset(TRANSITIONS)
    terminal_on: frozenset[Activity] = frozenset(TRANSITIONS)
    webhook_on: frozenset[Activity] = frozenset(TRANSITIONS)

    def channels(self, entered: Activity) -> list[str]:
        """The channels that carry a transition into `entered`, in the order they are used."""
        wanted = []
        if self.terminal and entered in self.terminal_on:
            wanted.append("terminal")
        if self.desktop and entered in self.desktop_on:
            wanted.append("desktop")
        if self.webhook and entered in self.webhook_on:
            wanted.append("webhook")
        return wanted


def load_notify_settings(home: Home) -> NotifySettings:
    section = load_toml(home).get("notify", {})
    where = f"{home.config_toml} [notify]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise KugetsuError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(KEYS)}")
    by = section.get("by", "console")
    if by not in NOTIFIERS:
        raise KugetsuError(f'{where} by must be "console" or "drain" (the process that notifies)')
    switches = {}
    for key in ("desktop", "terminal"):
        value = section.get(key, True)
        if not isinstance(value, bool):
            raise KugetsuError(f"{where} {key} must be true or false")
        switches[key] = value
    webhook = section.get("webhook")
    if webhook is not None and (not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))):
        raise KugetsuError(f"{where} webhook must be an http:// or https:// URL")  # the value is never repeated
    lists = {f"{channel}_on": _transitions(section, f"{channel}_on", where) for channel in CHANNELS}
    return NotifySettings(by, switches["desktop"], switches["terminal"], webhook or None, **lists)


def _transitions(section: dict[str, Any], key: str, where: str) -> frozenset[Activity]:
    value = section.get(key, [str(t) for t in TRANSITIONS])
    names = ", ".join(str(t) for t in TRANSITIONS)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KugetsuError(f"{where} {key} must be a list of transitions ({names})")
    for item in value:
        if item not in {str(t) for t in TRANSITIONS}:
            raise KugetsuError(f"{where} {key}: unknown transition {item!r}; transitions: {names}")
    return frozenset(Activity(v) for v in value)
