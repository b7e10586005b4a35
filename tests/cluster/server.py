"""A real PostgreSQL server for the cluster tests: initdb and postgres in a temporary directory, on 127.0.0.1.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user (setpriv,
which execs: the process we hold is the postmaster itself, in its own process group). Trust auth on
loopback; the server is stopped (or killed, for the crash tests) by the test that owns it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import pytest

from tests.opencode.harness import in_ci

USER = "kugetsu"


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def unavailable(reason: str) -> NoReturn:
    """Skip locally, fail under CI: CI installs PostgreSQL (.ci/run) and must never skip these tests."""
    if in_ci():
        pytest.fail(f"PostgreSQL unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One postgres: `start`, `kill` (SIGKILL to it and its backends), `start` again on the same port, `stop`."""

    def __init__(self, password: str | None = None) -> None:
        initdb, postgres = _bin("initdb"), _bin("postgres")
        if not initdb or not postgres:
            unavailable("initdb/postgres not found under /usr/lib/postgresql/*/bin or on PATH")
        self.postgres = str(postgres)
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                unavailable("running as root and there is no `postgres` user to run the server as")
            self.prefix = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="kugetsu-pg-"))
        if self.prefix:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.password = password
        auth = ["-A", "trust"]
        if password is not None:  # password auth: the role's password from a file only the server user reads
            pwfile = self.root / "pwfile"
            pwfile.write_text(password + "\n")
            if self.prefix:
                shutil.chown(pwfile, "postgres", "postgres")
            auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
        result = subprocess.run(
            [*self.prefix, str(initdb), "-D", str(self.data), *auth, "-U", USER, "--no-sync", "-E", "UTF8"],
            capture_output=True,
            timeout=180,
        )
        if result.returncode != 0:
            unavailable(f"initdb failed: {result.stderr.decode(errors='replace')[-500:]}")

    @property
    def dsn_base(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.root / "server.log", "ab")  # held by the server process
        self.proc = subprocess.Popen(
            [
                *self.prefix,
                self.postgres,
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.root),
                "-F",
                "-c",
                "max_connections=200",
                "-c",
                "full_page_writes=off",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 120
        while not self._answers():
            if self.proc.poll() is not None:
                unavailable(f"postgres exited: {(self.root / 'server.log').read_text(errors='replace')[-800:]}")
            if time.monotonic() > deadline:
                self.kill()
                unavailable("postgres did not accept connections within 120 s")
            time.sleep(0.05)

    def _answers(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(f"{self.dsn_base}/postgres", connect_timeout=2, password=self.password):
                return True
        except psycopg.OperationalError:
            return False

    def kill(self) -> None:
        """Every process of the server at once, as a crash would (the next start recovers)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGQUIT)  # immediate shutdown: nothing here needs keeping
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self, name: str) -> str:
        """A fresh database for one test; returns its dsn (a test never sees another's tables)."""
        import psycopg

        with psycopg.connect(
            f"{self.dsn_base}/postgres", autocommit=True, connect_timeout=10, password=self.password
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.dsn_base}/{name}"
