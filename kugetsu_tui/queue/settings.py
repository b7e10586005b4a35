"""`[queue]` in config.toml: whether an open console drains the queue (`drain = true`, the default)."""

from __future__ import annotations

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home


def console_drains(home: Home) -> bool:
    """True unless `[queue] drain = false`; anything but a boolean is a clear error."""
    section = load_toml(home).get("queue", {})
    where = f"{home.config_toml} [queue]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    unknown = sorted(set(section) - {"drain"})
    if unknown:
        raise KugetsuError(f"{where}: unknown key {unknown[0]!r}; known: drain")
    drain = section.get("drain", True)
    if not isinstance(drain, bool):
        raise KugetsuError(f"{where} drain must be true or false")
    return drain
