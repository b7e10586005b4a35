"""Agent processes: liveness by pid and start time, and CPU and memory of whole trees read from /proc."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from kugetsu_tui.base import process
from kugetsu_tui.base.process import ProcessSampler, is_alive, start_time

BUSY = "while True: pass"
# A parent that allocates ~60 MB, starts a busy child, and waits.
PARENT = (
    "import subprocess, sys, time\n"
    "ballast = bytearray(60 * 1024 * 1024)\n"
    f"child = subprocess.Popen([sys.executable, '-c', {BUSY!r}])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(120)\n"
)


@pytest.fixture
def agent() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """An agent tree: an idle parent holding memory, and a child spinning a core."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    yield parent, child
    for pid in (child, parent.pid):
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    parent.wait()


def roots(parent: subprocess.Popen[str]) -> dict[str, tuple[int, float | None]]:
    return {"agent": (parent.pid, start_time(parent.pid))}


def test_a_tree_is_measured_with_its_children(agent) -> None:
    parent, _child = agent
    sampler = ProcessSampler()
    first = sampler.sample(roots(parent))
    assert first["agent"][0] == 0.0  # nothing to compare with yet
    time.sleep(1.0)
    cpu, rss = sampler.sample(roots(parent))["agent"]
    assert cpu > 30  # the child spins; the parent alone would be ~0
    assert rss > 60 * 1024 * 1024  # the parent's ballast plus the child


def test_the_figures_agree_with_psutil(agent) -> None:
    parent, child = agent
    sampler = ProcessSampler()
    sampler.sample(roots(parent))
    procs = [psutil.Process(parent.pid), psutil.Process(child)]
    for proc in procs:
        proc.cpu_percent(None)
    time.sleep(1.0)
    cpu, rss = sampler.sample(roots(parent))["agent"]
    theirs = sum(proc.cpu_percent(None) for proc in procs)
    assert abs(cpu - theirs) < 25
    assert abs(rss - sum(proc.memory_info().rss for proc in procs)) < 4 * 1024 * 1024


def test_a_pid_whose_start_time_does_not_match_is_not_measured(agent) -> None:
    parent, _child = agent
    started = start_time(parent.pid)
    assert started is not None and is_alive(parent.pid, started)
    assert not is_alive(parent.pid, started - 10)  # a reused pid
    assert not is_alive(parent.pid, None) and not is_alive(True, started) and not is_alive(-1, started)
    assert ProcessSampler().sample({"agent": (parent.pid, started - 10)}) == {}


def test_only_the_due_agents_are_sampled_and_the_unwatched_forgotten(agent) -> None:
    parent, _child = agent
    sampler = ProcessSampler()
    watched = roots(parent) | {"other": roots(parent)["agent"]}
    assert sampler.sample(watched, due={"other"}).keys() == {"other"}
    assert sampler.sample(watched, due=set()) == {}
    time.sleep(0.5)
    assert sampler.sample(watched, due={"agent"})["agent"][0] == 0.0  # first look at this one
    sampler.sample({"agent": watched["agent"]}, due=set())
    assert "other" not in sampler._last


def test_without_children_lists_a_scan_of_proc_finds_the_tree(agent, monkeypatch: pytest.MonkeyPatch) -> None:
    parent, child = agent
    sampler = ProcessSampler()
    sampler._children_lists = False  # as on a kernel without CONFIG_PROC_CHILDREN
    monkeypatch.setattr(process, "_children_from_children_lists", None)  # never called then
    sampler.sample(roots(parent))
    time.sleep(1.0)
    assert sampler.sample(roots(parent))["agent"][0] > 30
    assert child in process._tree(parent.pid, process._children_by_scan())
