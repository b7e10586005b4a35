"""Fixtures for the cluster suite: one PostgreSQL server for the suite, a fresh database per test.

The tests that kill the server or cut it off get a server of their own (`own_server`), so that no other
test sees the outage. Without PostgreSQL (or psycopg) these tests skip locally and fail under CI.
"""

from __future__ import annotations

import itertools

import pytest

from tests.cluster.server import Server, unavailable

_numbers = itertools.count()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("MAX_CONCURRENT_AGENTS", raising=False)
    monkeypatch.setenv("KUGETSU_HOME", str(tmp_path / "default-home-must-not-be-used"))
    monkeypatch.chdir(tmp_path)
    yield
    from tests.helpers import kill_recorded_processes

    kill_recorded_processes(tmp_path)


def _server() -> Server:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install -e '.[test]')")
    server = Server()
    server.start()
    return server


@pytest.fixture(scope="session")
def shared_server():
    server = _server()
    yield server
    server.stop()


@pytest.fixture
def own_server():
    server = _server()
    yield server
    server.stop()


@pytest.fixture
def dsn(shared_server):
    return shared_server.new_database(f"t{next(_numbers)}")
