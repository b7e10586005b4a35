"""`[cluster]` in config.toml: where the shared ledger lives, this host's name, and how long its lease lasts.

[cluster]
dsn = "postgresql://kugetsu@db.example/kugetsu"   # absent: no cluster, the local cap alone (the default)
host = "ci-1"                                     # default: this machine's hostname
lease = "10m"                                     # a host silent this long no longer holds its slots
timeout = "5s"                                    # how long a database call may take before it counts as down

The password never goes here: libpq reads PGPASSWORD or ~/.pgpass. This module is read by every
command, so it imports nothing heavy (psycopg only when a dsn is set, in cluster/database.py).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.durations import parse_duration
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home

CLUSTER_KEYS = ("dsn", "host", "lease", "timeout")
DEFAULT_LEASE = 600.0
DEFAULT_TIMEOUT = 5.0
MAX_HOST_LENGTH = 200
_PASSWORD_PAIR = re.compile(r"(?:^|\s)password\s*=", re.IGNORECASE)


class ClusterSettings(NamedTuple):
    dsn: str
    host: str
    lease: float
    timeout: float


def load_cluster_settings(home: Home) -> ClusterSettings | None:
    """The `[cluster]` table, checked; None when it has no dsn (one machine: the local cap alone)."""
    section = load_toml(home).get("cluster")
    if section is None:
        return None
    where = f"{home.config_toml} [cluster]"
    if not isinstance(section, dict):
        raise KugetsuError(f"{where} must be a table")
    unknown = sorted(set(section) - set(CLUSTER_KEYS))
    if unknown:
        raise KugetsuError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(CLUSTER_KEYS)}")
    dsn = section.get("dsn")
    if dsn is None:
        return None
    if not isinstance(dsn, str) or not dsn.strip():
        raise KugetsuError(f"{where} dsn must be a PostgreSQL connection string such as postgresql://user@host/db")
    if _has_password(dsn):
        raise KugetsuError(f"{where} dsn holds a password: remove it, and give it in PGPASSWORD or ~/.pgpass instead")
    host = section.get("host")
    if host is None:
        import socket

        host = socket.gethostname()
    if not isinstance(host, str) or not host.strip() or len(host) > MAX_HOST_LENGTH or not host.isprintable():
        raise KugetsuError(f"{where} host must be a printable name of 1 to {MAX_HOST_LENGTH} characters")
    lease = parse_duration(section.get("lease", DEFAULT_LEASE), f"{where} lease")
    timeout = parse_duration(section.get("timeout", DEFAULT_TIMEOUT), f"{where} timeout")
    return ClusterSettings(dsn, host, lease, timeout)


def _has_password(dsn: str) -> bool:
    if "://" in dsn:
        from urllib.parse import urlsplit

        try:
            return urlsplit(dsn).password is not None or "password=" in dsn.lower()
        except ValueError:
            return False
    return _PASSWORD_PAIR.search(dsn) is not None
