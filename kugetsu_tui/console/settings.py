"""`[console]` in config.toml: what the console alone reads (plain Python, no Textual)."""

from __future__ import annotations

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home


def console_bell(home: Home) -> bool:
    """`[console] bell`: ring the terminal bell when a session wants the operator (default false)."""
    section = load_toml(home).get("console", {})
    where = f"{home.config_toml} [console]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    bell = section.get("bell", False)
    if not isinstance(bell, bool):
        raise KugetsuError(f"{where} bell must be true or false")
    return bell
