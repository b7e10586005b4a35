"""The console's footer: the cluster's figure beside the local one, or that the cluster is unreachable."""

from __future__ import annotations

import pytest

from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.capacity import CapacityBar
from tests.cluster.homes import cluster_home, held
from tests.cluster.server import free_port
from tests.helpers import run_cli, wait_until

pytestmark = pytest.mark.cluster


def _footer(app: KugetsuConsole) -> str:
    return str(app.query_one(CapacityBar).content)


async def test_the_footer_shows_the_cluster_figure_beside_the_local_one(tmp_path, dsn):
    other = cluster_home(tmp_path, "ci-2", dsn)
    assert run_cli(other, "start", "shoko/kugetsu#1", "go").returncode == 0
    home = cluster_home(tmp_path, "ci-1", dsn)
    (home.root / ".cluster-heartbeat").unlink(missing_ok=True)
    app = KugetsuConsole(home, sample_processes=False, check_work=False, follow_activity=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_until(pilot, lambda: "cluster 1/3 on 2 hosts" in _footer(app), timeout=60, what="the figure")
        assert _footer(app).startswith("0/3 agents")
    assert "ci-1" in held(other)  # the console's beat registered this host


async def test_the_footer_says_the_cluster_is_unreachable_and_keeps_the_local_figure(tmp_path, dsn):
    home = cluster_home(tmp_path, "ci-1", f"postgresql://kugetsu@127.0.0.1:{free_port()}/none", timeout="3s")
    app = KugetsuConsole(home, sample_processes=False, check_work=False, follow_activity=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_until(pilot, lambda: "cluster unreachable" in _footer(app), timeout=60, what="the trouble")
        assert _footer(app).startswith("0/3 agents")


async def test_the_capacity_view_lists_the_other_hosts_slot_holders_read_only(tmp_path, dsn):
    from textual.css.query import NoMatches
    from textual.widgets import Static

    other = cluster_home(tmp_path, "ci-2", dsn)
    assert run_cli(other, "start", "shoko/kugetsu#1", "go").returncode == 0
    before = held(other)
    home = cluster_home(tmp_path, "ci-1", dsn)
    app = KugetsuConsole(home, sample_processes=False, check_work=False, follow_activity=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("C")

        def listed() -> str:
            try:
                return str(app.screen.query_one("#capacity-cluster", Static).content)
            except NoMatches:  # the view is not open yet
                return ""

        await wait_until(pilot, lambda: "github.com-shoko-kugetsu-1" in listed(), timeout=60, what="ci-2's slot")
        assert "ci-2" in listed() and "cluster 1/3" in listed()
        assert app.screen.query_one("#capacity-cluster", Static).display
    assert held(other)["ci-2"] == before["ci-2"]  # read only: the view took no slot and dropped none
