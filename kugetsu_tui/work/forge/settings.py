"""Which API a forge host answers on, and which environment variable holds its token.

config.toml may override a host (`[forge."HOST"] api = ..., token_env = ...`); `api = ""` turns the
forge off for that host. The token itself is never in a file: only the name of the variable is.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from kugetsu_tui.base.errors import KugetsuError

GITHUB_HOST = "github.com"
GITHUB_API = "https://api.github.com"
GITHUB_TOKEN_ENVS = ("GITHUB_TOKEN", "GH_TOKEN")
DEFAULT_INTERVAL = 120.0
_HOST_KEYS = ("api", "token_env")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class HostSettings(NamedTuple):
    """`api` is "" when the forge is off for this host; `token_envs` are tried in order."""

    host: str
    api: str
    token_envs: tuple[str, ...]

    def token(self, environ: Mapping[str, str] | None = None) -> str | None:
        env = os.environ if environ is None else environ
        for name in self.token_envs:
            value = env.get(name, "").strip()
            if value:
                return value
        return None


class ForgeSettings(NamedTuple):
    hosts: dict[str, HostSettings]
    interval: float = DEFAULT_INTERVAL

    def for_host(self, host: str) -> HostSettings:
        host = host.lower()
        if host in self.hosts:
            return self.hosts[host]
        if host == GITHUB_HOST:
            return HostSettings(host, GITHUB_API, GITHUB_TOKEN_ENVS)
        return HostSettings(host, f"https://{host}/api/v1", ())


def parse_forge_settings(table: Any, where: str = "config.toml [forge]") -> ForgeSettings:
    """Read the `[forge]` table; a mistake is a clear error that never echoes a value (it may be a token)."""
    if table is None:
        return ForgeSettings({})
    if not isinstance(table, dict):
        raise KugetsuError(f"{where} must be a table")
    hosts: dict[str, HostSettings] = {}
    interval = DEFAULT_INTERVAL
    for key, value in table.items():
        if key == "interval":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise KugetsuError(f"{where} interval must be a finite number of seconds > 0 (not nan or inf)")
            interval = float(value)
        elif isinstance(value, dict):
            hosts[key.lower()] = _host_settings(key.lower(), value, f'{where[:-1]}."{key}"]')
        else:
            raise KugetsuError(
                f'{where}: unknown key {key!r}; known: interval, and a table per host ([forge."github.com"])'
            )
    return ForgeSettings(hosts, interval)


def _host_settings(host: str, table: dict[str, Any], where: str) -> HostSettings:
    unknown = sorted(set(table) - set(_HOST_KEYS))
    if unknown:
        raise KugetsuError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(_HOST_KEYS)} "
            "(a token goes in the environment variable that token_env names, never in this file)"
        )
    default = ForgeSettings({}).for_host(host)
    api = table.get("api", default.api)
    if not isinstance(api, str) or (api and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", api)):
        raise KugetsuError(
            f'{where} api must be an http(s) URL such as "https://{host}/api/v1", or "" to turn '
            "the forge off for this host"
        )
    token_envs = default.token_envs
    if "token_env" in table:
        name = table["token_env"]
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise KugetsuError(f"{where} token_env must be the name of an environment variable, e.g. GITHUB_TOKEN")
        token_envs = (name,)
    return HostSettings(host, api.rstrip("/"), token_envs)
