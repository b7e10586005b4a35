"""Leases: a host that stops beating loses its slots after its lease; back, it is counted again."""

from __future__ import annotations

import signal
import subprocess

import pytest

from tests.cluster.homes import cluster_home, held, status
from tests.helpers import PY, assert_one_line_error, cli_env, run_cli, wait_for

pytestmark = pytest.mark.cluster


def _set_lease(home, lease):
    import tomllib

    import tomli_w

    data = tomllib.loads(home.config_toml.read_text("utf-8"))
    data["cluster"]["lease"] = lease
    home.config_toml.write_text(tomli_w.dumps(data))


def _host(home, name):
    return next(host for host in status(home)["hosts"] if host["host"] == name)


@pytest.mark.timeout(300)
def test_a_silent_host_loses_its_slots_after_its_lease_and_is_counted_again_when_it_comes_back(tmp_path, dsn):
    gone = cluster_home(tmp_path, "ci-a", dsn, limit=2)
    two = cluster_home(tmp_path, "ci-b", dsn, limit=2)
    three = cluster_home(tmp_path, "ci-c", dsn, limit=2)
    assert run_cli(gone, "start", "shoko/kugetsu#1", "go").returncode == 0
    assert run_cli(two, "start", "shoko/kugetsu#2", "go").returncode == 0
    assert_one_line_error(
        run_cli(three, "start", "shoko/kugetsu#3", "go"), 2, "reached across 3 hosts: 1 on ci-a, 1 on ci-b"
    )

    _set_lease(gone, "3s")  # its last beat: from here ci-a is silent, and its lease runs out
    assert run_cli(gone, "cluster", "heartbeat", "--once").returncode == 0
    wait_for(lambda: not _host(two, "ci-a")["live"], timeout=120, interval=0.2, message="ci-a's lease to expire")
    admitted = run_cli(three, "start", "shoko/kugetsu#3", "go")
    assert admitted.returncode == 0, admitted.stderr
    assert held(two) == {"ci-b": ["github.com-shoko-kugetsu-2"], "ci-c": ["github.com-shoko-kugetsu-3"]}

    _set_lease(gone, "10m")
    back = run_cli(gone, "cluster", "heartbeat", "--once")  # it comes back: its sessions/ still holds #1
    assert back.returncode == 0, back.stderr
    figure = status(two)
    assert (figure["active"], figure["cap"]) == (3, 2)
    assert "over the cap" in run_cli(two, "cluster", "status").stdout
    assert_one_line_error(run_cli(two, "start", "shoko/kugetsu#4", "go"), 2, "reached across 3 hosts")
    assert run_cli(gone, "destroy", "shoko/kugetsu#1", "--yes").returncode == 0
    assert_one_line_error(run_cli(two, "start", "shoko/kugetsu#4", "go"), 2, "1 on ci-b, 1 on ci-c")
    assert run_cli(three, "destroy", "shoko/kugetsu#3", "--yes").returncode == 0
    assert run_cli(two, "start", "shoko/kugetsu#4", "go").returncode == 0


@pytest.mark.timeout(300)
def test_cluster_heartbeat_keeps_a_hosts_lease_fresh_until_stopped(tmp_path, dsn):
    home = cluster_home(tmp_path, "ci-a", dsn, lease="3s")
    other = cluster_home(tmp_path, "ci-b", dsn)
    assert run_cli(home, "start", "shoko/kugetsu#1", "go").returncode == 0
    first = _host(other, "ci-a")["lease_until"]
    service = subprocess.Popen(
        [PY, "-m", "kugetsu_tui", "cluster", "heartbeat"],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        renewed = wait_for(
            lambda: (host := _host(other, "ci-a"))["lease_until"] > first and host,
            timeout=120,
            interval=0.2,
            message="the heartbeat to renew ci-a's lease",
        )
        assert renewed["live"] and renewed["slots"] == ["github.com-shoko-kugetsu-1"]
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=60)
    assert service.returncode == 0, err
    assert out.splitlines()[-1] == "stopped"
    assert err == ""


def test_any_command_renews_the_lease_at_most_every_quarter_lease(tmp_path, dsn):
    home = cluster_home(tmp_path, "ci-a", dsn)
    assert run_cli(home, "ls").returncode == 0
    stamp = home.root / ".cluster-heartbeat"
    assert stamp.exists()  # the first command beat
    assert [host["host"] for host in status(home)["hosts"]] == ["ci-a"]
    before = stamp.stat().st_mtime_ns
    assert run_cli(home, "ls").returncode == 0
    assert stamp.stat().st_mtime_ns == before  # a quarter lease (2.5 min) has not passed


@pytest.mark.timeout(300)
def test_queue_drain_watch_keeps_the_lease_fresh_too(tmp_path, dsn):
    home = cluster_home(tmp_path, "ci-a", dsn, lease="3s")
    other = cluster_home(tmp_path, "ci-b", dsn)
    assert run_cli(home, "start", "shoko/kugetsu#1", "go").returncode == 0
    first = _host(other, "ci-a")["lease_until"]
    drainer = subprocess.Popen(
        [PY, "-m", "kugetsu_tui", "queue", "drain", "--watch"],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: _host(other, "ci-a")["lease_until"] > first,
            timeout=120,
            interval=0.2,
            message="queue drain --watch to renew ci-a's lease",
        )
    finally:
        drainer.send_signal(signal.SIGTERM)
        out, err = drainer.communicate(timeout=60)
    assert drainer.returncode == 0, err
