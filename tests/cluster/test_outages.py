"""The database killed mid-start, and cut off by a partition: starts refused, nothing left, then work goes on."""

from __future__ import annotations

import subprocess

import pytest

from kugetsu_tui.cluster.slots import ADMISSION_LOCK
from tests.cluster.homes import cluster_home, held
from tests.cluster.proxy import PartitionProxy
from tests.helpers import PY, assert_one_line_error, cli_env, dev_files, read_index, run_cli, wait_for

pytestmark = pytest.mark.cluster


def _connect(server):
    import psycopg

    return psycopg.connect(f"{server.dsn_base}/postgres", connect_timeout=10)


def _waiting_for_admission(server) -> bool:
    with _connect(server) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
    return bool(row and row[0])


def _admission_lock_free(server) -> bool:
    with _connect(server) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
    return bool(row and row[0] == 0)


def _hold_admission_lock(server):
    """A connection in a transaction that holds the admission lock: every start waits behind it."""
    conn = _connect(server)
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADMISSION_LOCK,))
    return conn


def _start_in_background(home, number):
    return subprocess.Popen(
        [PY, "-m", "kugetsu_tui", "start", f"shoko/kugetsu#{number}", "go"],
        env=cli_env(home),
        cwd=home.root.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _nothing_left(home, name):
    assert f"{name}.json" not in dev_files(home)
    assert not home.journal_dir.exists() or not any(home.journal_dir.iterdir())
    assert name not in str(read_index(home))
    assert not home.log_path(name).exists()


def _set_timeout(home, timeout):
    import tomllib

    import tomli_w

    data = tomllib.loads(home.config_toml.read_text("utf-8"))
    data["cluster"]["timeout"] = timeout
    home.config_toml.write_text(tomli_w.dumps(data))


@pytest.mark.timeout(300)
def test_the_server_killed_in_the_middle_of_a_start_refuses_it_and_leaves_nothing(tmp_path, own_server):
    home = cluster_home(tmp_path, "ci-1", f"{own_server.dsn_base}/postgres")
    assert run_cli(home, "start", "shoko/kugetsu#1", "go").returncode == 0
    holder = _hold_admission_lock(own_server)
    starter = _start_in_background(home, 2)
    try:
        wait_for(lambda: _waiting_for_admission(own_server), timeout=120, interval=0.05, message="the start to wait")
        own_server.kill()
        out, err = starter.communicate(timeout=120)
    finally:
        holder.close()
        if starter.poll() is None:
            starter.kill()
    assert_one_line_error(subprocess.CompletedProcess([], starter.returncode, out, err), 2, "unreachable")
    _nothing_left(home, "github.com-shoko-kugetsu-2")
    assert dev_files(home) == ["github.com-shoko-kugetsu-1.json"]

    own_server.start()
    again = run_cli(home, "start", "shoko/kugetsu#2", "go")
    assert again.returncode == 0, again.stderr
    assert held(home) == {"ci-1": ["github.com-shoko-kugetsu-1", "github.com-shoko-kugetsu-2"]}


@pytest.mark.timeout(300)
def test_a_partition_refuses_starts_without_hanging_and_the_rest_works(tmp_path, own_server):
    proxy = PartitionProxy(own_server.port)
    try:
        home = cluster_home(tmp_path, "ci-1", f"postgresql://kugetsu@127.0.0.1:{proxy.port}/postgres", timeout="5s")
        assert run_cli(home, "start", "shoko/kugetsu#1", "go").returncode == 0

        proxy.partition()  # before the start: connecting gets no answer
        refused = run_cli(home, "start", "shoko/kugetsu#2", "go")
        assert_one_line_error(refused, 2, "unreachable", "starts are refused until it answers")
        _nothing_left(home, "github.com-shoko-kugetsu-2")
        assert run_cli(home, "ls", "--json").returncode == 0
        destroyed = run_cli(home, "destroy", "shoko/kugetsu#1", "--yes")  # its release waits, then gives up
        assert destroyed.returncode == 0, destroyed.stderr

        proxy.heal()  # the slot #1 left in the table is dropped by the next admission: sessions/ no longer has it
        assert run_cli(home, "start", "shoko/kugetsu#2", "go").returncode == 0
        assert held(home) == {"ci-1": ["github.com-shoko-kugetsu-2"]}

        _set_timeout(home, "15s")  # room for the steps below; the refusal comes when it runs out
        holder = _hold_admission_lock(own_server)
        starter = _start_in_background(home, 3)
        try:
            wait_for(lambda: _waiting_for_admission(own_server), timeout=60, interval=0.05, message="the start")
            proxy.partition()  # in the middle of its transaction: the lock is granted, the answer never comes
            holder.commit()
            out, err = starter.communicate(timeout=120)
        finally:
            holder.close()
            if starter.poll() is None:
                starter.kill()
        assert_one_line_error(subprocess.CompletedProcess([], starter.returncode, out, err), 2, "unreachable")
        _nothing_left(home, "github.com-shoko-kugetsu-3")
        # The server ends the cut-off session (idle_in_transaction_session_timeout): the lock is free again.
        wait_for(lambda: _admission_lock_free(own_server), timeout=120, interval=0.1, message="the lock to free")
        proxy.heal()
        assert run_cli(home, "start", "shoko/kugetsu#3", "go").returncode == 0
        assert held(home) == {"ci-1": ["github.com-shoko-kugetsu-2", "github.com-shoko-kugetsu-3"]}
    finally:
        proxy.close()
