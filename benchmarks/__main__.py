"""Measure kugetsu-tui against its speed targets and print a table (also written as JSON).

    .venv/bin/python -m benchmarks [--quick] [--out benchmarks/results.json]

Every figure is taken on this machine in this run; where a peer exists (a bare Textual app,
`python -c pass`) it is measured in the same run, interleaved, and the ratio is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import psutil

from benchmarks.pty_app import PtyApp
from kugetsu_tui.demo.home import demo_templates

ROOT = Path(__file__).resolve().parent.parent
BIG_LIMIT = 100_000
# Changes are spaced so that each one meets a console at rest: the figure measures the latency of a
# change, not a queue behind the previous change's table redraw (tens of ms; ~100-280 ms at 10,000 rows).
CHANGE_SPACING = 0.5


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


#: The configurations every console figure is taken with: the default one (forge and worktrees on: the work
#: check asks github.com for every dev session at start-up) and with both off.
CONFIGS = ("default", "off")


def make_home(root: Path, dev_count: int, limit: int, live_pids: Sequence[int] = (), config_name: str = "off") -> Path:
    """A kugetsu home with base, PM and `dev_count` dev sessions; the first ones point at live pids.

    With `config_name` "off", worktrees and the forge are off: nothing asks the network. "default" leaves
    both on, as a new home has them; the console never starts a session here, so no worktree is made.
    """
    sessions = root / "sessions"
    sessions.mkdir(parents=True, mode=0o700)
    store = root / "demo-opencode"
    import tomli_w

    config: dict[str, object] = {"max_concurrent_agents": limit, "agent": demo_templates(store, 0)}
    if config_name == "off":
        config.update(worktrees={"enabled": False}, forge={"github.com": {"api": ""}})
    (root / "config.toml").write_text(tomli_w.dumps(config))
    base = subprocess.run(
        [
            sys.executable,
            "-m",
            "kugetsu_tui.demo.agent",
            "--store",
            str(store),
            "--seconds",
            "0",
            "run",
            "--format",
            "json",
            "base",
        ],
        capture_output=True,
        check=True,
    ).stdout
    base_id = json.loads(base.splitlines()[0])["sessionID"]
    (sessions / "base.json").write_text(
        json.dumps(
            {"type": "base", "opencode_session_id": base_id, "created_at": "2026-01-01T00:00:00+00:00", "state": "idle"}
        )
    )
    (sessions / "pm-agent.json").write_text(
        json.dumps(
            {
                "type": "pm_agent",
                "opencode_session_id": "ses_pm",
                "created_at": "2026-01-01T00:00:01+00:00",
                "state": "idle",
            }
        )
    )
    for i in range(dev_count):
        data: dict[str, object] = {
            "type": "forked",
            "issue_ref": f"github.com/acme/widgets#{i + 1}",
            "opencode_session_id": f"ses_{i:08d}",
            "created_at": "2026-01-02T00:00:00+00:00",
            "state": "idle",
        }
        if i < len(live_pids):
            pid = live_pids[i]
            data.update(state="running", pid=pid, pid_started=psutil.Process(pid).create_time())
        (sessions / f"github.com-acme-widgets-{i + 1}.json").write_text(json.dumps(data))
    return root


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MAX_CONCURRENT_AGENTS"}
    env.update(TERM="xterm-256color", COLORTERM="truecolor", PYTHONPATH=str(ROOT))
    return env


def console(home: Path) -> PtyApp:
    """The console on `home`, in a real pseudo-terminal."""
    return PtyApp([sys.executable, "-m", "kugetsu_tui", "--home", str(home)], child_env())


def settle(app: PtyApp, quiet_percent: float = 5.0, timeout: float = 60.0) -> None:
    """Wait until the app has finished loading: its CPU stays low for half a second."""
    proc = psutil.Process(app.proc.pid)
    deadline = time.monotonic() + timeout
    proc.cpu_percent(None)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if proc.cpu_percent(None) < quiet_percent:
            return


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.bench.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# --- 1. change -> capacity figure --------------------------------------------------------------


def bench_change_latency(work: Path, sessions: int, changes: int, config_name: str) -> dict:
    home = make_home(work / f"latency-{sessions}-{config_name}", sessions, BIG_LIMIT, config_name=config_name)
    app = console(home)
    try:
        app.wait_for(f"{sessions}/{BIG_LIMIT}".encode(), timeout=60)
        settle(app)
        latencies = []
        extra = home / "sessions" / "github.com-other-repo-1.json"
        for i in range(changes):
            since = app.offset
            if i % 2 == 0:
                written = time.monotonic()
                write_atomic(extra, b'{"type": "forked", "issue_ref": "github.com/other/repo#1", "state": "idle"}')
                expected = sessions + 1
            else:
                written = time.monotonic()
                extra.unlink()
                expected = sessions
            shown = app.wait_for(f"{expected}/{BIG_LIMIT}".encode(), since=since, timeout=10)
            latencies.append((shown - written) * 1000)
            time.sleep(CHANGE_SPACING)
    finally:
        app.close()
    return {
        "sessions": sessions,
        "config": config_name,
        "changes": changes,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }


# --- 1b. a stream of changes -> the capacity figure and the changed row ---------------------------

STREAM_SPACING = 0.15
STREAM_FROM = 1.0  # seconds after launch: the stream meets the console while it is still loading


class Change(NamedTuple):
    """One change written: where the terminal's output stood, and what each half of it waits for."""

    since: int
    row_marker: bytes
    row_written: float
    figure: bytes
    figure_written: float


def write_changes(app: PtyApp, home: Path, sessions: int, times: Sequence[float]) -> list[Change]:
    """At each time (monotonic), rewrite the first dev row (a new marker in its reason) and add or remove
    a session (the figure), whatever the console is doing."""
    row_file = home / "sessions" / "github.com-acme-widgets-1.json"
    extra = home / "sessions" / "github.com-other-repo-1.json"
    row = json.loads(row_file.read_text())
    sent = []
    for i, at in enumerate(times):
        time.sleep(max(0.0, at - time.monotonic()))
        since = app.offset
        marker = f"bench{i:04d}"
        row_written = time.monotonic()
        write_atomic(row_file, json.dumps({**row, "state": "failed", "error": marker}).encode())
        figure_written = time.monotonic()
        if i % 2 == 0:
            write_atomic(extra, b'{"type": "forked", "issue_ref": "github.com/other/repo#1", "state": "idle"}')
            expected = sessions + 1
        else:
            extra.unlink()
            expected = sessions
        sent.append(Change(since, marker.encode(), row_written, f"{expected}/{BIG_LIMIT}".encode(), figure_written))
    return sent


def seen(app: PtyApp, sent: Sequence[Change]) -> list[tuple[float, float] | None]:
    """(row ms, figure ms) of each change, from its write to the terminal; None when it was never drawn."""
    latencies: list[tuple[float, float] | None] = []
    for change in sent:
        try:
            row = app.wait_for(change.row_marker, since=change.since, timeout=5) - change.row_written
            figure = app.wait_for(change.figure, since=change.since, timeout=5) - change.figure_written
            latencies.append((row * 1000, figure * 1000))
        except TimeoutError:
            latencies.append(None)
    return latencies


def summary(values: list[float]) -> dict:
    if not values:
        return {}
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "max_ms": round(max(values), 1),
    }


def bench_change_stream(work: Path, sessions: int, changes: int, config_name: str) -> dict:
    """A change every 150 ms from 1 s after launch, whatever the console is doing. Latency is from the write
    to the first chunk on the terminal that holds the new marker / the new figure."""
    home = make_home(work / f"stream-{sessions}-{config_name}", sessions, BIG_LIMIT, config_name=config_name)
    app = console(home)
    try:
        first = app.started + STREAM_FROM
        latencies = seen(app, write_changes(app, home, sessions, [first + i * STREAM_SPACING for i in range(changes)]))
    finally:
        app.close()
    drawn = [pair for pair in latencies if pair is not None]
    return {
        "sessions": sessions,
        "config": config_name,
        "changes": changes,
        "spacing_ms": round(STREAM_SPACING * 1000),
        "from_s": STREAM_FROM,
        "missed": len(latencies) - len(drawn),
        "figure": summary([figure for _, figure in drawn]),
        "row": summary([row for row, _ in drawn]),
    }


# --- 1c. the first seconds after the first figure ------------------------------------------------

BUSY_SPACING = 0.25
BUSY_UNTIL = 5.0  # seconds after the first figure
BUSY_SETTLED = 3.0  # from here on the target is that of a console at rest


def bench_busy_start(work: Path, sessions: int, runs: int, config_name: str) -> dict:
    """A change 1 s after the first figure, then one every 250 ms until 5 s after it: how soon a console
    that has just drawn its first figure shows what changed while it loads the table and checks the work."""
    home = make_home(work / f"busy-{sessions}-{config_name}", sessions, BIG_LIMIT, config_name=config_name)
    at_one: list[float] = []
    early: list[float] = []
    late: list[float] = []
    missed = 0
    for _ in range(runs):
        app = console(home)
        try:
            shown = app.wait_for(f"{sessions}/{BIG_LIMIT}".encode(), timeout=60)
            offsets = [1.0 + i * BUSY_SPACING for i in range(round((BUSY_UNTIL - 1.0) / BUSY_SPACING) + 1)]
            latencies = seen(app, write_changes(app, home, sessions, [shown + offset for offset in offsets]))
        finally:
            app.close()
            (home / "sessions" / "github.com-other-repo-1.json").unlink(missing_ok=True)  # as it was at launch
        for offset, pair in zip(offsets, latencies, strict=True):
            if pair is None:
                missed += 1
                continue
            worst = max(pair)  # the row and the figure both shown
            if offset == 1.0:
                at_one.append(worst)
            (early if offset < BUSY_SETTLED else late).append(worst)
    return {
        "sessions": sessions,
        "config": config_name,
        "runs": runs,
        "missed": missed,
        "at_1s": summary(at_one),
        "from_1s": summary(early),
        "from_3s": summary(late),
    }


# --- 1d. launch until the whole table is loaded and answers keys ---------------------------------

END_KEY = b"\x1b[F"  # End: the console's last row
CTRL_END = b"\x1b[1;5F"  # ctrl+End: DataTable's last row
KEY_EVERY = 0.05


def until_last_row(argv: list[str], key: bytes) -> float:
    """Seconds from launch until the last row (its reason LASTROW) is on screen, End pressed every 50 ms:
    the table is whole and the app answers keys."""
    app = PtyApp(argv, child_env())
    try:
        done = threading.Event()

        def press() -> None:
            while not done.wait(KEY_EVERY):
                try:
                    os.write(app.master, key)
                except OSError:
                    return

        presser = threading.Thread(target=press, daemon=True)
        presser.start()
        try:
            return app.wait_for(b"LASTROW", timeout=60) - app.started
        finally:
            done.set()
            presser.join()
    finally:
        app.close()


def bench_load(work: Path, sessions: int, runs: int, config_name: str) -> dict:
    """Against a bare DataTable app reading the same session files and adding them as rows."""
    home = make_home(work / f"load-{sessions}-{config_name}", sessions, BIG_LIMIT, config_name=config_name)
    last = {"type": "forked", "issue_ref": "github.com/acme/last#1", "created_at": "2026-01-03T00:00:00+00:00"}
    (home / "sessions" / "github.com-acme-last-1.json").write_text(
        json.dumps({**last, "state": "failed", "error": "LASTROW"})
    )
    ours, bare = [], []
    env_home = str(home)
    for _ in range(runs):  # interleaved
        ours.append(until_last_row([sys.executable, "-m", "kugetsu_tui", "--home", env_home], END_KEY))
        bare.append(until_last_row([sys.executable, "-m", "benchmarks.bare_table", env_home], CTRL_END))
    ours_ms, bare_ms = statistics.median(ours) * 1000, statistics.median(bare) * 1000
    return {
        "sessions": sessions + 1,
        "config": config_name,
        "runs": runs,
        "console_ms": round(ours_ms),
        "bare_datatable_ms": round(bare_ms),
        "ratio": round(ours_ms / bare_ms, 2),
    }


# --- 2. start-up to the first capacity figure ----------------------------------------------------


def bench_startup(work: Path, sessions: int, runs: int, config_name: str) -> dict:
    home = make_home(work / f"startup-{sessions}-{config_name}", sessions, BIG_LIMIT, config_name=config_name)
    ours, bare = [], []
    for _ in range(runs):  # interleaved, so both see the same machine state
        app = console(home)
        try:
            ours.append(app.wait_for(f"{sessions}/{BIG_LIMIT}".encode(), timeout=60) - app.started)
        finally:
            app.close()
        peer = PtyApp([sys.executable, "-m", "benchmarks.bare_app"], child_env())
        try:
            bare.append(peer.wait_for(b"BARE-READY", timeout=60) - peer.started)
        finally:
            peer.close()
    ours_ms, bare_ms = statistics.median(ours) * 1000, statistics.median(bare) * 1000
    return {
        "sessions": sessions,
        "config": config_name,
        "runs": runs,
        "console_ms": round(ours_ms),
        "bare_textual_ms": round(bare_ms),
        "ratio": round(ours_ms / bare_ms, 2),
    }


# --- 3. idle CPU ---------------------------------------------------------------------------------


def cpu_seconds(proc: psutil.Process) -> float:
    """User and system time of a process and of the children it waited for (a helper it ran counts)."""
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def bench_idle_cpu(work: Path, seconds: float, config_name: str) -> dict:
    """The console and a bare Textual app side by side, over the same seconds."""
    agents = [subprocess.Popen(["sleep", "600"]) for _ in range(20)]
    try:
        home = make_home(work / f"idle-{config_name}", 50, BIG_LIMIT, [p.pid for p in agents], config_name)
        app = console(home)
        bare = PtyApp([sys.executable, "-m", "benchmarks.bare_app"], child_env())
        try:
            app.wait_for(f"50/{BIG_LIMIT}".encode(), timeout=60)
            bare.wait_for(b"BARE-READY", timeout=60)
            settle(app)
            time.sleep(2)
            procs = [psutil.Process(app.proc.pid), psutil.Process(bare.proc.pid)]
            before, started = [cpu_seconds(p) for p in procs], time.monotonic()
            time.sleep(seconds)
            after, elapsed = [cpu_seconds(p) for p in procs], time.monotonic() - started
        finally:
            app.close()
            bare.close()
    finally:
        for agent in agents:
            agent.kill()
            agent.wait()
    ours, peer = (100 * (a - b) / elapsed for a, b in zip(after, before, strict=True))
    return {
        "sessions": 50,
        "config": config_name,
        "live_agents": 20,
        "seconds": round(elapsed, 1),
        "cpu_percent_of_one_core": round(ours, 2),
        "bare_textual_percent": round(peer, 2),
    }


# --- 4. CLI start-up -----------------------------------------------------------------------------


def timed(argv: list[str], env: dict[str, str], expect: int) -> float:
    started = time.perf_counter()
    code = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    elapsed = time.perf_counter() - started
    if code != expect:
        raise RuntimeError(f"{argv} exited {code}, expected {expect}")
    return elapsed


def bench_cli(work: Path, runs: int, config_name: str) -> dict:
    # 100 dev sessions against a limit of 100: at capacity
    home = make_home(work / f"cli-{config_name}", 100, 100, config_name=config_name)
    env = dict(child_env(), KUGETSU_HOME=str(home))
    commands = {
        "python -c pass": ([sys.executable, "-c", "pass"], 0),
        "ls": ([sys.executable, "-m", "kugetsu_tui", "ls"], 0),
        "ls --json": ([sys.executable, "-m", "kugetsu_tui", "ls", "--json"], 0),
        "start (refused, at capacity)": ([sys.executable, "-m", "kugetsu_tui", "start", "acme/widgets#999", "x"], 2),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (argv, expect) in commands.items():
            times[name].append(timed(argv, env, expect))
    base = statistics.median(times["python -c pass"])
    return {"config": config_name} | {
        name: {"median_ms": round(statistics.median(t) * 1000, 1), "ratio": round(statistics.median(t) / base, 2)}
        for name, t in times.items()
    }


# --- 4b. ls --json at scale ----------------------------------------------------------------------


def bench_ls_scale(work: Path, runs: int, config_name: str, sessions: int = 10_000) -> dict:
    """`ls --json` against the least a program can do: read every session file and print it as JSON."""
    home = make_home(work / f"ls-scale-{config_name}", sessions, BIG_LIMIT, config_name=config_name)
    env = dict(child_env(), KUGETSU_HOME=str(home))
    ours_argv = [sys.executable, "-m", "kugetsu_tui", "ls", "--json"]
    minimal_argv = [sys.executable, str(ROOT / "benchmarks" / "minimal_ls.py")]
    ours, minimal = [], []
    for _ in range(runs):  # interleaved
        ours.append(timed(ours_argv, env, 0))
        minimal.append(timed(minimal_argv, env, 0))
    ours_ms, minimal_ms = statistics.median(ours) * 1000, statistics.median(minimal) * 1000
    return {
        "sessions": sessions,
        "config": config_name,
        "runs": runs,
        "ls_json_ms": round(ours_ms),
        "minimal_ms": round(minimal_ms),
        "ratio": round(ours_ms / minimal_ms, 2),
    }


# --- 5. the cap under contention -----------------------------------------------------------------


def bench_contention(work: Path, rounds: int, starters: int = 32, cap: int = 3) -> dict:
    home = make_home(work / "contention", 0, cap)
    env = dict(child_env(), KUGETSU_HOME=str(home))
    sessions = home / "sessions"
    overshoots, refusals, admitted, other = 0, 0, 0, 0
    worst = 0
    for _ in range(rounds):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "kugetsu_tui", "start", f"acme/widgets#{i + 1}", "go"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(starters)
        ]
        codes = [p.wait() for p in procs]
        dev = [p for p in sessions.glob("*.json") if p.name not in ("base.json", "pm-agent.json")]
        worst = max(worst, len(dev))
        overshoots += max(0, len(dev) - cap)
        refusals += codes.count(2)
        admitted += codes.count(0)
        other += sum(1 for c in codes if c not in (0, 2))
        for path in dev:  # the demo agent exits at once; clear the round
            path.unlink()
    return {
        "rounds": rounds,
        "starters_per_round": starters,
        "cap": cap,
        "overshoots": overshoots,
        "most_sessions_seen": worst,
        "admitted": admitted,
        "refused_exit_2": refusals,
        "other_exit": other,
    }


def byte_compile() -> None:
    """Compile the package (and the peers here) to bytecode first, as installing it does: without it, with
    PYTHONDONTWRITEBYTECODE set (as on the machine these figures come from) or a read-only checkout, every
    run compiled our modules from source, ~17 ms of each CLI command and more of the console's start-up."""
    import compileall

    for directory in (ROOT / "kugetsu_tui", ROOT / "benchmarks"):
        compileall.compile_dir(directory, quiet=1)


def machine() -> dict:
    import textual

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "textual": textual.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


BENCHES = ("change", "stream", "busy", "load", "startup", "idle", "cli", "ls", "contention")
IDLE_TARGET = 0.3  # % of one core
STREAM_TARGET = 50  # ms, p95, for the figure and for the row
BUSY_TARGET = 100  # ms, p95, for a change in the first seconds after the first figure at 10,000 sessions


def shown(stats: dict, missed: int) -> str:
    text = f"p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms, max {stats['max_ms']} ms" if stats else "not seen"
    return f"{text} ({missed} changes never seen)" if missed else text


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and rounds (not for the README)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {', '.join(BENCHES)}")
    parser.add_argument("--config", default=",".join(CONFIGS), help=f"comma-separated subset of {', '.join(CONFIGS)}")
    args = parser.parse_args()
    quick = args.quick
    only = set(args.only.split(","))
    if only - set(BENCHES):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(only - set(BENCHES)))}")
    configs = [c for c in CONFIGS if c in args.config.split(",")]
    byte_compile()
    work = Path(tempfile.mkdtemp(prefix="kugetsu-bench-"))
    results: dict = {"machine": machine()}
    try:
        sizes = [(n, c) for c in configs for n in (100, 10_000)]
        if "change" in only:
            results["change_to_figure"] = [bench_change_latency(work, n, 20 if quick else 30, c) for n, c in sizes]
        if "stream" in only:
            results["change_stream"] = [bench_change_stream(work, n, 40 if quick else 60, c) for n, c in sizes]
        if "busy" in only:
            results["busy_start"] = [bench_busy_start(work, 10_000, 3 if quick else 7, c) for c in configs]
        if "load" in only:
            results["load"] = [bench_load(work, 10_000, 3 if quick else 7, c) for c in configs]
        if "startup" in only:
            results["startup"] = [bench_startup(work, n, 3 if quick else 7, c) for n, c in sizes]
        if "idle" in only:
            results["idle_cpu"] = [bench_idle_cpu(work, 10 if quick else 30, c) for c in configs]
        if "cli" in only:
            results["cli"] = [bench_cli(work, 7 if quick else 21, c) for c in configs]
        if "ls" in only:
            results["ls_scale"] = [bench_ls_scale(work, 5 if quick else 11, c) for c in configs]
        if "contention" in only:
            results["contention"] = bench_contention(work, 10 if quick else 100)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(render_table(results))
    print(f"\nwritten to {args.out}")
    return 0


def render_table(r: dict) -> str:
    m = r["machine"]
    rows = [
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['platform']}, Python {m['python']}, "
        f"Textual {m['textual']}, {m['date']}",
        "",
        "| # | Measure | Result | Target | Met |",
        "|---|---|---|---|---|",
    ]
    for item in r.get("change_to_figure", []):
        target = 50 if item["sessions"] == 100 else 100
        rows.append(
            f"| 1 | change → capacity figure on screen, {item['sessions']:,} sessions, config {item['config']} "
            f"({item['changes']} changes, {CHANGE_SPACING} s apart, the console at rest) "
            f"| p50 {item['p50_ms']} ms, p95 {item['p95_ms']} ms | p95 ≤ {target} ms "
            f"| {'yes' if item['p95_ms'] <= target else 'NO'} |"
        )
    for item in r.get("change_stream", []):
        for what in ("figure", "row"):
            stats = item[what]
            met = bool(stats) and stats["p95_ms"] <= STREAM_TARGET and not item["missed"]
            rows.append(
                f"| 1s | stream: change → {'capacity figure' if what == 'figure' else 'changed row'} on screen, "
                f"{item['sessions']:,} sessions, config {item['config']}, a change every {item['spacing_ms']} ms "
                f"from {item['from_s']} s after launch ({item['changes']} changes) "
                f"| {shown(stats, item['missed'])} | p95 ≤ {STREAM_TARGET} ms | {'yes' if met else 'NO'} |"
            )
    for item in r.get("busy_start", []):
        for key, label, target in (
            ("at_1s", "a change 1 s after the first figure", BUSY_TARGET),
            ("from_1s", "changes 1-3 s after it", BUSY_TARGET),
            ("from_3s", "changes 3-5 s after it", STREAM_TARGET),
        ):
            stats = item[key]
            met = bool(stats) and stats["p95_ms"] <= target and not item["missed"]
            rows.append(
                f"| 1b | {label} → row and figure on screen, {item['sessions']:,} sessions, config {item['config']} "
                f"({item['runs']} launches) | {shown(stats, item['missed'])} | p95 ≤ {target} ms "
                f"| {'yes' if met else 'NO'} |"
            )
    for item in r.get("load", []):
        rows.append(
            f"| 2l | launch → whole table loaded and answering keys, {item['sessions']:,} sessions, config "
            f"{item['config']} (median of {item['runs']}) | {item['console_ms']} ms vs bare DataTable app "
            f"{item['bare_datatable_ms']} ms ({item['ratio']}×) | ≤ 1.5× bare | {'yes' if item['ratio'] <= 1.5 else 'NO'} |"
        )
    for item in r.get("startup", []):
        met, goal = item["ratio"] <= 1.5, "≤ 1.5× bare"
        rows.append(
            f"| 2 | start-up to first capacity figure, {item['sessions']:,} sessions, config {item['config']} "
            f"(median of {item['runs']}) "
            f"| {item['console_ms']} ms vs bare Textual app {item['bare_textual_ms']} ms ({item['ratio']}×) "
            f"| {goal} | {'yes' if met else 'NO'} |"
        )
    for idle in r.get("idle_cpu", []):
        rows.append(
            f"| 3 | idle CPU, 50 sessions with 20 live agents, config {idle['config']}, {idle['seconds']} s "
            f"| {idle['cpu_percent_of_one_core']} % of a core (bare Textual app beside it: "
            f"{idle['bare_textual_percent']} %) | ≤ {IDLE_TARGET} % | "
            f"{'yes' if idle['cpu_percent_of_one_core'] <= IDLE_TARGET else 'NO'} |"
        )
    for cli in r.get("cli", []):
        base = cli["python -c pass"]["median_ms"]
        for name in ("ls", "ls --json", "start (refused, at capacity)"):
            item = cli[name]
            rows.append(
                f"| 4 | `kugetsu-tui {name}`, 100 sessions, config {cli['config']} (median) | {item['median_ms']} ms "
                f"vs `python -c pass` {base} ms ({item['ratio']}×) | ≤ 3× | {'yes' if item['ratio'] <= 3 else 'NO'} |"
            )
    for ls in r.get("ls_scale", []):
        rows.append(
            f"| 4s | `kugetsu-tui ls --json`, {ls['sessions']:,} sessions, config {ls['config']} (median of "
            f"{ls['runs']}) | {ls['ls_json_ms']} ms vs minimal read-and-print program {ls['minimal_ms']} ms "
            f"({ls['ratio']}×) | ≤ 1.3× | {'yes' if ls['ratio'] <= 1.3 else 'NO'} |"
        )
    if "contention" not in r:
        return "\n".join(rows)
    c = r["contention"]
    rows.append(
        f"| 5 | {c['starters_per_round']} concurrent starts at cap {c['cap']}, {c['rounds']} rounds "
        f"| {c['overshoots']} overshoots, {c['refused_exit_2']} refused with exit 2, {c['admitted']} admitted, "
        f"{c['other_exit']} other | 0 overshoots | {'yes' if c['overshoots'] == 0 else 'NO'} |"
    )
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
