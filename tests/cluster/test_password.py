"""The password never in config.toml: libpq takes it from PGPASSWORD or a ~/.pgpass file (PGPASSFILE here)."""

from __future__ import annotations

import pytest

from tests.cluster.homes import cluster_home
from tests.cluster.server import Server, unavailable
from tests.helpers import assert_one_line_error, run_cli

pytestmark = pytest.mark.cluster
PASSWORD = "s3cret-for-the-test"


@pytest.fixture
def password_server():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install -e '.[test]')")
    server = Server(password=PASSWORD)
    server.start()
    yield server
    server.stop()


def test_the_password_comes_from_pgpassword_or_a_pgpass_file(tmp_path, password_server):
    home = cluster_home(tmp_path, "ci-1", f"{password_server.dsn_base}/postgres", timeout="10s")
    refused = run_cli(home, "start", "shoko/kugetsu#1", "go", env={"PGPASSWORD": None, "PGPASSFILE": "/nonexistent"})
    line = assert_one_line_error(refused, 2, "unreachable")
    assert "password" in line

    started = run_cli(home, "start", "shoko/kugetsu#1", "go", env={"PGPASSWORD": PASSWORD})
    assert started.returncode == 0, started.stderr

    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{password_server.port}:*:kugetsu:{PASSWORD}\n")
    pgpass.chmod(0o600)
    listed = run_cli(home, "cluster", "status", env={"PGPASSWORD": None, "PGPASSFILE": str(pgpass)})
    assert listed.returncode == 0, listed.stderr
    assert "github.com-shoko-kugetsu-1" in listed.stdout
    assert PASSWORD not in home.config_toml.read_text()
