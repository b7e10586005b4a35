"""The cap across hosts: admission in one transaction, release, the refusal's figure, fail closed, status."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from tests.cluster.homes import cluster_home, held, status
from tests.helpers import assert_one_line_error, dev_files, read_index, run_cli

pytestmark = pytest.mark.cluster

STARTERS = 32
CAP = 3
HOSTS = ("ci-1", "ci-2", "ci-3")


def test_a_start_takes_a_cluster_slot_and_destroy_gives_it_back(tmp_path, dsn):
    one = cluster_home(tmp_path, "ci-1", dsn)
    two = cluster_home(tmp_path, "ci-2", dsn)
    started = run_cli(one, "start", "shoko/kugetsu#1", "go")
    assert started.returncode == 0, started.stderr
    assert held(two) == {"ci-1": ["github.com-shoko-kugetsu-1"], "ci-2": []}
    destroyed = run_cli(one, "destroy", "shoko/kugetsu#1", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    assert held(two) == {"ci-1": [], "ci-2": []}


def test_at_the_cluster_cap_a_start_is_refused_with_the_cluster_figure(tmp_path, dsn):
    homes = [cluster_home(tmp_path, host, dsn) for host in HOSTS]
    for home, number in ((homes[1], 1), (homes[1], 2), (homes[2], 3)):
        assert run_cli(home, "start", f"shoko/kugetsu#{number}", "go").returncode == 0
    status(homes[0])  # ci-1 registered too (with no slot): the figure counts 3 hosts
    refused = run_cli(homes[0], "start", "shoko/kugetsu#4", "go")
    assert_one_line_error(refused, 2, "maximum concurrent agents (3) reached across 3 hosts: 2 on ci-2, 1 on ci-3")
    assert dev_files(homes[0]) == []
    assert "github.com-shoko-kugetsu-4" not in str(held(homes[0]))


def test_continue_never_counts_and_park_and_resume_release_and_take(tmp_path, dsn):
    home = cluster_home(tmp_path, "ci-1", dsn, limit=1)
    other = cluster_home(tmp_path, "ci-2", dsn, limit=1)
    assert run_cli(home, "start", "shoko/kugetsu#1", "go").returncode == 0
    again = run_cli(home, "continue", "shoko/kugetsu#1", "more")
    assert again.returncode == 0, again.stderr  # at the cluster cap of 1, a continue still runs
    parked = run_cli(home, "park", "shoko/kugetsu#1")
    assert parked.returncode == 0, parked.stderr
    assert held(other) == {"ci-1": [], "ci-2": []}
    assert run_cli(other, "start", "shoko/kugetsu#2", "go").returncode == 0
    assert_one_line_error(run_cli(home, "resume", "shoko/kugetsu#1"), 2, "across 2 hosts: 1 on ci-2")
    assert run_cli(other, "destroy", "shoko/kugetsu#2", "--yes").returncode == 0
    resumed = run_cli(home, "resume", "shoko/kugetsu#1")
    assert resumed.returncode == 0, resumed.stderr
    assert held(other)["ci-1"] == ["github.com-shoko-kugetsu-1"]


def test_a_failed_start_gives_its_slot_back(tmp_path, dsn):
    from tests.helpers import demo_agent_config

    home = cluster_home(tmp_path, "ci-1", dsn)
    demo_agent_config(home, seconds=0, fail=True)  # keeps [cluster]: the agent fails before its first event
    failed = run_cli(home, "start", "shoko/kugetsu#1", "go")
    assert failed.returncode == 1, failed.stderr
    assert dev_files(home) == []
    assert held(home) == {"ci-1": []}


def test_the_database_down_refuses_starts_in_one_line_and_everything_else_works(tmp_path, dsn):
    from tests.cluster.server import free_port

    home = cluster_home(tmp_path, "ci-1", f"postgresql://kugetsu@127.0.0.1:{free_port()}/none", timeout="5s")
    refused = run_cli(home, "start", "shoko/kugetsu#1", "go")
    line = assert_one_line_error(refused, 2, "Cannot start dev session for github.com/shoko/kugetsu#1")
    assert "unreachable" in line and "starts are refused until it answers" in line
    assert dev_files(home) == []
    assert not os.listdir(home.journal_dir) if home.journal_dir.exists() else True
    assert run_cli(home, "ls", "--json").returncode == 0
    assert run_cli(home, "limit").returncode == 0
    assert_one_line_error(run_cli(home, "cluster", "status"), 2, "unreachable")


def test_a_password_in_the_dsn_is_refused(tmp_path, dsn):
    home = cluster_home(tmp_path, "ci-1", dsn.replace("kugetsu@", "kugetsu:secret@"))
    line = assert_one_line_error(run_cli(home, "start", "shoko/kugetsu#1", "go"), 1, "PGPASSWORD or ~/.pgpass")
    assert "secret" not in line


def test_forget_drops_a_host_and_its_slots(tmp_path, dsn):
    one = cluster_home(tmp_path, "ci-1", dsn)
    two = cluster_home(tmp_path, "ci-2", dsn)
    assert run_cli(one, "start", "shoko/kugetsu#1", "go").returncode == 0
    forgot = run_cli(two, "cluster", "forget", "ci-1")
    assert forgot.returncode == 0, forgot.stderr
    assert "its 1 slots" in forgot.stdout
    assert held(two) == {"ci-2": []}
    assert_one_line_error(run_cli(two, "cluster", "forget", "ci-9"), 1, "no host 'ci-9'")


# --- the race ---------------------------------------------------------------------------------------


def _gated_starter(home_root, ref, barrier, out_path):
    """One `kugetsu-tui start` in a forked process: wait at the barrier, then run the CLI's main."""
    import io
    import sys

    from kugetsu_tui.cli import main as cli

    os.environ["KUGETSU_HOME"] = home_root
    os.environ["KUGETSU_TUI_CLUSTER_RACE_WINDOW"] = "0.05"  # wide enough that a missing lock would show
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    barrier.wait(timeout=120)
    code = cli.main(["start", ref, "race"])
    with open(out_path, "w") as handle:
        handle.write(sys.stderr.getvalue())
    sys.exit(code)


@pytest.mark.timeout(600)
def test_three_hosts_racing_32_starts_at_cluster_cap_3_admit_exactly_3_every_round(tmp_path, dsn):
    context = multiprocessing.get_context("fork")  # the imports are paid once, the starts are real processes
    for number in range(3):
        hosts = [f"r{number}-{host}" for host in HOSTS]
        homes = [cluster_home(tmp_path, host, dsn, limit=CAP) for host in hosts]
        barrier = context.Barrier(STARTERS)
        outs = [tmp_path / f"round-{number}-{i}.err" for i in range(STARTERS)]
        procs = [
            context.Process(
                target=_gated_starter,
                args=(str(homes[i % 3].root), f"shoko/kugetsu#{100 + i}", barrier, str(outs[i])),
            )
            for i in range(STARTERS)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=300)
        results = [(p.exitcode, o.read_text() if o.exists() else "") for p, o in zip(procs, outs, strict=True)]
        assert sorted(code for code, _ in results) == [0] * CAP + [2] * (STARTERS - CAP), (number, results)
        for code, err in results:
            assert "Traceback" not in err and "unreachable" not in err, err
            if code == 2:
                assert f"maximum concurrent agents ({CAP}) reached" in err, err
        local = {host: [n[: -len(".json")] for n in dev_files(home)] for host, home in zip(hosts, homes, strict=True)}
        assert sum(len(names) for names in local.values()) == CAP
        assert sum(len(read_index(home)["issues"]) for home in homes) == CAP
        figure = held(homes[0])
        assert {host: sorted(figure.get(host, [])) for host in hosts} == {h: sorted(n) for h, n in local.items()}
        for host in hosts:  # the next round's hosts start from an empty cluster
            assert run_cli(homes[0], "cluster", "forget", host).returncode == 0


def test_a_start_killed_after_its_slot_is_committed_leaves_a_slot_that_the_next_heartbeat_drops(tmp_path, dsn):
    home = cluster_home(tmp_path, "ci-1", dsn)
    assert run_cli(home, "start", "shoko/kugetsu#9", "go").returncode == 0  # a first start learns the base's
    assert run_cli(home, "destroy", "shoko/kugetsu#9", "--yes").returncode == 0  # directory: not traced below
    trace = tmp_path / "trace"
    traced = run_cli(
        home, "start", "shoko/kugetsu#1", "go", env={"KUGETSU_TUI_KILL_AT": "0", "KUGETSU_TUI_FAULT_TRACE": str(trace)}
    )
    assert traced.returncode == 0, traced.stderr
    (at,) = [line.split()[0] for line in trace.read_text().splitlines() if line.endswith(" cluster slot taken")]
    assert run_cli(home, "destroy", "shoko/kugetsu#1", "--yes").returncode == 0

    killed = run_cli(home, "start", "shoko/kugetsu#1", "go", env={"KUGETSU_TUI_KILL_AT": at})
    assert killed.returncode == -9
    assert dev_files(home) == []
    other = cluster_home(tmp_path, "ci-2", dsn)
    assert held(other)["ci-1"] == ["github.com-shoko-kugetsu-1"]  # counted, though no file holds it: fail closed

    assert run_cli(home, "cluster", "heartbeat", "--once").returncode == 0
    assert held(other)["ci-1"] == []
    again = run_cli(home, "start", "shoko/kugetsu#1", "go")  # the killed start's record is rolled back first
    assert again.returncode == 0, again.stderr
    assert held(other)["ci-1"] == ["github.com-shoko-kugetsu-1"]


def test_a_restore_takes_a_cluster_slot_and_is_refused_at_the_cluster_cap(tmp_path, dsn):
    home = cluster_home(tmp_path, "ci-1", dsn, limit=1)
    other = cluster_home(tmp_path, "ci-2", dsn, limit=1)
    assert run_cli(home, "start", "shoko/kugetsu#1", "go").returncode == 0
    assert run_cli(home, "destroy", "shoko/kugetsu#1", "--yes").returncode == 0
    assert run_cli(other, "start", "shoko/kugetsu#2", "go").returncode == 0
    assert_one_line_error(run_cli(home, "restore", "github.com-shoko-kugetsu-1"), 2, "across 2 hosts: 1 on ci-2")
    assert dev_files(home) == []
    assert run_cli(other, "destroy", "shoko/kugetsu#2", "--yes").returncode == 0
    restored = run_cli(home, "restore", "github.com-shoko-kugetsu-1")
    assert restored.returncode == 0, restored.stderr
    assert held(other) == {"ci-1": ["github.com-shoko-kugetsu-1"], "ci-2": []}


def test_two_homes_cannot_share_one_host_name(tmp_path, dsn):
    one = cluster_home(tmp_path, "ci-1", dsn, name="one")
    two = cluster_home(tmp_path, "ci-1", dsn, name="two")
    assert run_cli(one, "start", "shoko/kugetsu#1", "go").returncode == 0
    assert_one_line_error(run_cli(two, "start", "shoko/kugetsu#2", "go"), 1, "held by another kugetsu home")
    assert held(one) == {"ci-1": ["github.com-shoko-kugetsu-1"]}
