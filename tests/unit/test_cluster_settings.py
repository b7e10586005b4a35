"""`[cluster]` in config.toml: off without a dsn, a password refused, the defaults, one clear line when wrong."""

from __future__ import annotations

import socket

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.cluster.settings import DEFAULT_LEASE, DEFAULT_TIMEOUT, load_cluster_settings
from tests.helpers import assert_one_line_error, run_cli


def _config(home: Home, text: str) -> None:
    home.ensure(home.root)
    home.config_toml.write_text(text)


def test_no_table_or_no_dsn_is_no_cluster(home: Home) -> None:
    assert load_cluster_settings(home) is None
    _config(home, '[cluster]\nhost = "ci-1"\n')
    assert load_cluster_settings(home) is None


def test_the_defaults_are_the_hostname_a_ten_minute_lease_and_a_five_second_timeout(home: Home) -> None:
    _config(home, '[cluster]\ndsn = "postgresql://kugetsu@db.example/kugetsu"\n')
    settings = load_cluster_settings(home)
    assert settings is not None
    assert (settings.host, settings.lease, settings.timeout) == (socket.gethostname(), DEFAULT_LEASE, DEFAULT_TIMEOUT)
    assert DEFAULT_LEASE == 600


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://kugetsu:secret@db.example/kugetsu",
        "postgresql://kugetsu@db.example/kugetsu?password=secret",
        "host=db.example user=kugetsu password=secret",
        "host=db.example user=kugetsu  PASSWORD = secret",
    ],
)
def test_a_password_in_the_dsn_is_refused_without_repeating_it(home: Home, dsn: str) -> None:
    _config(home, f'[cluster]\ndsn = "{dsn}"\n')
    with pytest.raises(KugetsuError, match="PGPASSWORD or ~/.pgpass") as caught:
        load_cluster_settings(home)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('dsn = "postgresql://h/db"\nport = 5', "unknown key 'port'"),
        ("dsn = 5", "dsn must be a PostgreSQL connection string"),
        ('dsn = "postgresql://h/db"\nhost = ""', "host must be a printable name"),
        ('dsn = "postgresql://h/db"\nlease = "soon"', "lease must be a duration"),
        ('dsn = "postgresql://h/db"\ntimeout = 0', "timeout must be a duration over zero"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_key(home: Home, body: str, needle: str) -> None:
    _config(home, f"[cluster]\n{body}\n")
    with pytest.raises(KugetsuError, match=needle):
        load_cluster_settings(home)


def test_the_cluster_commands_without_a_dsn_say_how_to_set_one(home: Home) -> None:
    assert_one_line_error(run_cli(home, "cluster", "status"), 1, "no cluster: set [cluster] dsn")


@pytest.mark.parametrize("args", [("ls", "--json"), ("start", "acme/widgets#9", "refused at capacity")])
def test_with_a_cluster_the_hot_paths_still_import_no_driver_when_they_need_no_database(
    home: Home, args: tuple[str, ...]
) -> None:
    """A start refused by the local cap never asks the cluster, and `ls` with a fresh lease does not beat."""
    from tests.helpers import write_session
    from tests.unit.test_no_textual import SLOW_IMPORTS, imported_modules

    with home.config_toml.open("a") as config:
        config.write('\n[cluster]\ndsn = "postgresql://kugetsu@127.0.0.1:1/none"\nhost = "ci-1"\n')
    for n in range(3):
        write_session(home, f"github.com-acme-widgets-{n}")
    (home.root / ".cluster-heartbeat").touch()  # a beat was just tried
    result = run_cli(home, *args, python_flags=["-X", "importtime"])
    assert result.returncode == (2 if args[0] == "start" else 0), result.stderr
    imported = imported_modules(result.stderr)
    assert "kugetsu_tui" in imported
    assert not imported & set(SLOW_IMPORTS), sorted(imported & set(SLOW_IMPORTS))
