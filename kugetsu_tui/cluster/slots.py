"""The cluster's slots: every host's dev sessions in one table, counted together against the cap.

A host holds its slots while its lease is fresh; every admission and heartbeat renews it and makes the
table say exactly what this host's `sessions/` holds (they run under the sessions lock, so no local start
is half-way then). Admission serialises on one advisory transaction lock rather than `SELECT … FOR UPDATE`:
the slot being admitted is a row that does not exist yet, and row locks cannot lock a row that is not
there (two starts would each count two and insert a third), whereas the advisory lock needs no row, no
privilege, and is released by the server at commit, rollback or a dropped connection, so a killed
starter never holds it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.base.faults import fault_point
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.cluster.settings import ClusterSettings, load_cluster_settings
from kugetsu_tui.sessions.files import KIND_DEV, kind_for_filename, session_names
from kugetsu_tui.sessions.limit import resolve_limit

if TYPE_CHECKING:
    import psycopg

#: The pg_advisory_xact_lock key that serialises every admission in the cluster.
ADMISSION_LOCK = 0x6B75_6765_7473_0001


class HostSlots(NamedTuple):
    host: str
    live: bool
    slots: tuple[str, ...]
    lease_until: str


class ClusterFigure(NamedTuple):
    """The cluster as one host sees it: the cap, what the live hosts hold, and every registered host."""

    this_host: str
    cap: int | None
    hosts: tuple[HostSlots, ...]

    @property
    def active(self) -> int:
        return sum(len(host.slots) for host in self.hosts if host.live)

    @property
    def live_hosts(self) -> int:
        return sum(1 for host in self.hosts if host.live)

    def holders(self) -> str:
        """`2 on ci-2, 1 on ci-3`: the live hosts that hold slots, the most first."""
        held = sorted((host for host in self.hosts if host.live and host.slots), key=lambda h: (-len(h.slots), h.host))
        return ", ".join(f"{len(host.slots)} on {host.host}" for host in held) or "none held"


@contextmanager
def cluster_slot(home: Home, what: str, name: str) -> Iterator[None]:
    """Under the sessions lock: take a cluster slot for `name` ([cluster] dsn set), give it back if the block fails.

    Refused with exit 2 when the cluster is at its cap, or when its database does not answer (fail closed).
    """
    settings = load_cluster_settings(home)
    if settings is None:
        yield
        return
    cap = resolve_limit(home).value
    assert cap is not None  # check_capacity refused an invalid limit before this
    try:
        with _transaction(settings) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADMISSION_LOCK,))
            _register(conn, settings, _home_id(home), _local_names(home), cap)
            figure = _figure(conn, settings, cap)
            _race_window()
            refused = figure if figure.active >= cap else None
            if refused is None:
                conn.execute(
                    "INSERT INTO kugetsu_cluster_slots (host, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (settings.host, name),
                )
    except AtCapacityError as exc:  # the database did not answer: refused, as at the cap (fail closed)
        raise type(exc)(f"Cannot {what}: {exc}; starts are refused until it answers") from None
    if refused is not None:
        raise AtCapacityError(
            f"Cannot {what}: maximum concurrent agents ({cap}) reached across {refused.live_hosts} "
            f"host{'s' if refused.live_hosts != 1 else ''}: {refused.holders()}. Destroy a finished session first."
        )
    fault_point("cluster slot taken")  # killed here: a slot with no file, dropped by this host's next heartbeat
    try:
        yield
    except BaseException:
        release_slot(home, name)
        raise


def release_slot(home: Home, name: str) -> None:
    """Under the sessions lock, once `name`'s file left sessions/: its cluster slot is free. Best effort: a
    database that does not answer keeps it until this host's next heartbeat or admission, which say what
    sessions/ holds."""
    settings = load_cluster_settings(home)
    if settings is None:
        return
    try:
        with _transaction(settings) as conn:
            conn.execute("DELETE FROM kugetsu_cluster_slots WHERE host = %s AND name = %s", (settings.host, name))
    except KugetsuError:
        pass


def heartbeat(home: Home, settings: ClusterSettings) -> ClusterFigure:
    """Renew this host's lease and register what its sessions/ holds.

    Connected first, then under the sessions lock, so that no local start is half-way while sessions/ is read
    and written to the table: a database that does not answer costs the timeout outside the lock, and local
    commands never wait behind a heartbeat that cannot connect.
    """
    cap = resolve_limit(home).value
    with _transaction(settings) as conn, sessions_lock(home):
        _register(conn, settings, _home_id(home), _local_names(home), cap)
        return _figure(conn, settings, cap)


def cluster_figure(home: Home, settings: ClusterSettings) -> ClusterFigure:
    """The cluster as it stands, read only."""
    with _transaction(settings) as conn:
        return _figure(conn, settings, resolve_limit(home).value)


def forget_host(settings: ClusterSettings, host: str) -> int:
    """Drop a host and its slots (a machine gone for good); returns how many slots it held."""
    with _transaction(settings) as conn:
        held = conn.execute("SELECT count(*) FROM kugetsu_cluster_slots WHERE host = %s", (host,)).fetchone()
        gone = conn.execute("DELETE FROM kugetsu_cluster_hosts WHERE host = %s", (host,)).rowcount
    if not gone:
        raise KugetsuError(f"the cluster has no host {host!r} (see: kugetsu-tui cluster status)")
    return int(held[0]) if held else 0


def _race_window() -> None:
    """Crash-test hook, like base/faults.py: `KUGETSU_TUI_CLUSTER_RACE_WINDOW=S` waits S seconds between the
    count and the insert, so that a race test would see two hosts admit the last slot if the lock were gone."""
    window = os.environ.get("KUGETSU_TUI_CLUSTER_RACE_WINDOW")
    if window:
        import time

        time.sleep(float(window))


def _home_id(home: Home) -> str:
    """Which home on which machine holds a host name: `machine:/path/to/home`."""
    import socket

    return f"{socket.gethostname()}:{home.root}"


def _local_names(home: Home) -> list[str]:
    return sorted(
        name[: -len(".json")] for name in session_names(home.sessions_dir) if kind_for_filename(name) == KIND_DEV
    )


def _register(
    conn: psycopg.Connection[Any], settings: ClusterSettings, home_id: str, local: list[str], cap: int | None
) -> None:
    """This host's lease renewed, and its slots made exactly `local`.

    A host name is one home's: another home that claims it while its lease is live is refused (two homes on one
    machine with the default name would otherwise each drop the other's slots).
    """
    claimed = conn.execute(
        """INSERT INTO kugetsu_cluster_hosts AS h (host, lease_until, seen_at, cap, home)
           VALUES (%s, now() + make_interval(secs => %s), now(), %s, %s)
           ON CONFLICT (host) DO UPDATE
           SET lease_until = excluded.lease_until, seen_at = excluded.seen_at, cap = excluded.cap, home = excluded.home
           WHERE h.home = excluded.home OR h.lease_until <= now()""",
        (settings.host, settings.lease, cap, home_id),
    ).rowcount
    if not claimed:
        raise KugetsuError(
            f"the cluster's host name {settings.host!r} is held by another kugetsu home: give this one its own "
            "[cluster] host in config.toml (or `cluster forget` the other if it is gone)"
        )
    conn.execute(
        "DELETE FROM kugetsu_cluster_slots WHERE host = %s AND NOT (name = ANY(%s))",
        (settings.host, local),
    )
    conn.execute(
        """INSERT INTO kugetsu_cluster_slots (host, name) SELECT %s, unnest(%s::text[])
           ON CONFLICT DO NOTHING""",
        (settings.host, local),
    )


def _figure(conn: psycopg.Connection[Any], settings: ClusterSettings, cap: int | None) -> ClusterFigure:
    rows = conn.execute(
        """SELECT h.host, h.lease_until > now(), coalesce(array_agg(s.name ORDER BY s.name)
                  FILTER (WHERE s.name IS NOT NULL), '{}'), to_char(h.lease_until AT TIME ZONE 'UTC',
                  'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           FROM kugetsu_cluster_hosts h LEFT JOIN kugetsu_cluster_slots s ON s.host = h.host
           GROUP BY h.host, h.lease_until ORDER BY h.host"""
    ).fetchall()
    hosts = tuple(HostSlots(str(host), bool(live), tuple(names), str(until)) for host, live, names, until in rows)
    return ClusterFigure(settings.host, cap, hosts)


def _transaction(settings: ClusterSettings) -> Any:
    """Imported when used: a home with no [cluster] never loads the database module (CLI start-up time)."""
    from kugetsu_tui.cluster.database import transaction

    return transaction(settings)
