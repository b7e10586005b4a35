"""Homes that share one cluster: each is a simulated host (its own home, its own `[cluster] host`)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import tomli_w

from kugetsu_tui.base.home import Home
from tests.helpers import demo_agent_config, make_home, run_cli


def cluster_home(
    tmp_path: Path,
    host: str,
    dsn: str,
    *,
    limit: int = 3,
    lease: str = "10m",
    timeout: str = "60s",
    name: str | None = None,
) -> Home:
    """A kugetsu home (`name`, default home-HOST) with a base session and the demo agent, on cluster `dsn` as
    `host`, at cap `limit`."""
    home = make_home(tmp_path, name or f"home-{host}")
    demo_agent_config(home, seconds=0)
    data = tomllib.loads(home.config_toml.read_text("utf-8"))
    data["max_concurrent_agents"] = limit
    data["cluster"] = {"dsn": dsn, "host": host, "lease": lease, "timeout": timeout}
    home.config_toml.write_text(tomli_w.dumps(data))
    return home


def status(home: Home) -> dict:
    result = run_cli(home, "cluster", "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def held(home: Home) -> dict[str, list[str]]:
    """Each live host's slot holders, as `cluster status --json` says."""
    return {host["host"]: list(host["slots"]) for host in status(home)["hosts"] if host["live"]}
