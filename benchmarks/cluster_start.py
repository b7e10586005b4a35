"""What a start gains with `[cluster]` on: the cluster admission's latency on loopback (target ≤ 20 ms).

    .venv/bin/python -m benchmarks.cluster_start [--runs N]

Starts its own PostgreSQL server (tests/cluster/server.py: as the `postgres` user when run as root) and times,
in one process, the cluster transaction a start adds inside the local admission: a slot taken (connect, lock,
register, count, insert, commit) and given back, and a start refused at the cluster's cap. The rest of a start
(git, the agent) is the same with the cluster off, so this is the whole difference.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import tomli_w

from kugetsu_tui.base.errors import AtCapacityError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.cluster.slots import cluster_slot, release_slot
from tests.cluster.server import Server

TARGET_MS = 20.0


def _home(root: Path, host: str, dsn: str, cap: int) -> Home:
    home = Home(root / host)
    home.ensure()
    home.config_toml.write_text(tomli_w.dumps({"max_concurrent_agents": cap, "cluster": {"dsn": dsn, "host": host}}))
    return home


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    server = Server()
    server.start()
    try:
        dsn = server.new_database("bench")
        work = Path(tempfile.mkdtemp(prefix="kugetsu-bench-cluster-"))
        home = _home(work, "bench-1", dsn, cap=3)
        with sessions_lock(home), cluster_slot(home, "warm up", "warm-up"):
            pass  # the schema is made, and psycopg imported, once: not part of a start's cost
        with sessions_lock(home):
            release_slot(home, "warm-up")
        taken, refused = [], []
        for number in range(args.runs):
            name = f"github.com-acme-widgets-{number}"
            with sessions_lock(home):
                began = time.perf_counter()
                with cluster_slot(home, "start", name):
                    taken.append((time.perf_counter() - began) * 1000)
                release_slot(home, name)
        connects = []
        import psycopg

        for _ in range(args.runs):  # the share of it that is opening a connection (a backend forked, auth)
            began = time.perf_counter()
            psycopg.connect(dsn, connect_timeout=5).close()
            connects.append((time.perf_counter() - began) * 1000)
        full = _home(work, "bench-2", dsn, cap=1)
        with sessions_lock(full), cluster_slot(full, "start", "holder"):
            (full.sessions_dir / "holder.json").write_text("{}")  # it holds the one slot
        for number in range(args.runs):
            with sessions_lock(full):
                began = time.perf_counter()
                try:
                    with cluster_slot(full, "start", f"refused-{number}"):
                        raise AssertionError("admitted over the cap")
                except AtCapacityError:
                    refused.append((time.perf_counter() - began) * 1000)
    finally:
        server.stop()
    took, said_no, connect = _stats(taken), _stats(refused), _stats(connects)
    print(f"cluster admission on loopback, {args.runs} runs each (target p95 ≤ {TARGET_MS:g} ms):")
    print(f"  slot taken:      p50 {took['p50_ms']} ms, p95 {took['p95_ms']} ms, max {took['max_ms']} ms")
    print(f"  start refused:   p50 {said_no['p50_ms']} ms, p95 {said_no['p95_ms']} ms, max {said_no['max_ms']} ms")
    print(f"  of which connecting: p50 {connect['p50_ms']} ms, p95 {connect['p95_ms']} ms")
    print(f"  met: {'yes' if took['p95_ms'] <= TARGET_MS and said_no['p95_ms'] <= TARGET_MS else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
