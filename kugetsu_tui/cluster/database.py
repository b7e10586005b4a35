"""The connection to the cluster's PostgreSQL and the schema kugetsu-tui keeps there, versioned.

Every call is bounded by `[cluster] timeout`: libpq's connect_timeout for connecting, the server's
statement_timeout and lock_timeout for a query, and a watchdog that shuts the socket down if no answer
comes back at all (a partition: the server's own timeouts never reach us then), and the server's
idle_in_transaction_session_timeout, so that a client cut off never leaves the admission lock held. Any failure is one
`ClusterUnreachableError`, so a start refuses in one line and nothing hangs.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kugetsu_tui.base.errors import AtCapacityError
from kugetsu_tui.cluster.settings import ClusterSettings

if TYPE_CHECKING:
    import psycopg

#: The schema's versions in order: each entry takes the database from the version before it to its own.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE kugetsu_cluster_hosts (
               host text PRIMARY KEY,
               lease_until timestamptz NOT NULL,
               seen_at timestamptz NOT NULL,
               cap integer,
               home text NOT NULL
           )""",
        """CREATE TABLE kugetsu_cluster_slots (
               host text NOT NULL REFERENCES kugetsu_cluster_hosts (host) ON DELETE CASCADE,
               name text NOT NULL,
               taken_at timestamptz NOT NULL DEFAULT now(),
               PRIMARY KEY (host, name)
           )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
#: The pg_advisory_xact_lock key that serialises migrations (admissions have their own, in cluster/slots.py).
MIGRATION_LOCK = 0x6B75_6765_7473_0002
_migrated: set[str] = set()


class ClusterUnreachableError(AtCapacityError):
    """The cluster's database did not answer: starts are refused (fail closed), exit 2 like a full cap."""


@contextmanager
def transaction(settings: ClusterSettings) -> Iterator[psycopg.Connection[Any]]:
    """One transaction on a fresh connection, committed when the block ends, all of it within the timeout."""
    import psycopg

    _quiet_driver()
    try:
        conn = psycopg.connect(
            settings.dsn,
            connect_timeout=max(2, round(settings.timeout)),
            autocommit=True,  # transactions are explicit (conn.transaction()): the version check is one round trip
            application_name="kugetsu-tui",
            # A client cut off mid-transaction must not keep the admission lock: the server ends its session.
            options=" ".join(
                f"-c {name}={_ms(settings)}"
                for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
            ),
        )
    except psycopg.Error as exc:
        raise _unreachable(settings, exc) from None
    watchdog = threading.Timer(settings.timeout, _cut, (conn.pgconn.socket,))
    watchdog.daemon = True
    watchdog.start()
    try:
        with conn:
            _migrate_once(conn, settings)
            with conn.transaction():
                yield conn
    except psycopg.Error as exc:
        raise _unreachable(settings, exc) from None
    finally:
        watchdog.cancel()
        conn.close()


def _quiet_driver() -> None:
    """psycopg logs what it ignores while closing a broken connection; Python would print that on stderr
    (its last-resort handler), beside our one line. A handler of its own keeps it quiet."""
    import logging

    logger = logging.getLogger("psycopg")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def _ms(settings: ClusterSettings) -> int:
    return max(1, round(settings.timeout * 1000))


def _cut(fd: int) -> None:
    """No answer within the timeout: shut the socket down, so the waiting call fails instead of hanging."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed meanwhile: the call ended by itself


def _unreachable(settings: ClusterSettings, exc: BaseException) -> ClusterUnreachableError:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return ClusterUnreachableError(f"the cluster database ({_where(settings.dsn)}) is unreachable: {first}")


def _where(dsn: str) -> str:
    """The dsn as said in a message (it holds no password: settings refuse one)."""
    return dsn if len(dsn) <= 120 else dsn[:117] + "..."


def _migrate_once(conn: psycopg.Connection[Any], settings: ClusterSettings) -> None:
    """Bring the schema to SCHEMA_VERSION (once a process); a newer schema than ours is refused."""
    if settings.dsn in _migrated:
        return
    import psycopg

    try:
        row = conn.execute("SELECT version FROM kugetsu_cluster_schema").fetchone()
        version = row[0] if row else 0
    except psycopg.errors.UndefinedTable:
        version = -1
    if version != SCHEMA_VERSION:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS kugetsu_cluster_schema (version integer NOT NULL)")
            row = conn.execute("SELECT version FROM kugetsu_cluster_schema FOR UPDATE").fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise ClusterUnreachableError(
                    f"the cluster database's schema is version {version}, newer than this kugetsu-tui's "
                    f"({SCHEMA_VERSION}): upgrade kugetsu-tui on this host"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            if row is None:
                conn.execute("INSERT INTO kugetsu_cluster_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
            else:
                conn.execute("UPDATE kugetsu_cluster_schema SET version = %s", (SCHEMA_VERSION,))
    _migrated.add(settings.dsn)
