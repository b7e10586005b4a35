"""What the slot ledger costs the CLI's hot paths: a start refused at capacity, and `ls --json`.

    python -m benchmarks.ledger [RUNS]

Both run through `benchmarks.ledger_cli`, once as they are and once with the ledger's writes turned into
no-ops (the same wrapper both times, so the only difference is the ledger), interleaved, against a home of
100 dev sessions at a limit of 100 whose ledger is already nearly 4 MiB (so the size it reaches costs what it
costs, and a read of it would show). The refused start writes one line each run; `ls` writes none.
A process start is noisy (milliseconds), so the refusal itself is also timed in one process, many times:
`check_capacity` refusing, with the ledger and without, which is all the ledger adds to a refused start
(the lock it takes to confirm the refusal, and the line).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.__main__ import child_env, make_home, timed
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions import ledger
from kugetsu_tui.sessions.ledger import Event

COMMANDS = {
    "start (refused, at capacity)": (["start", "acme/widgets#999", "x"], 2),
    "ls --json": (["ls", "--json"], 0),
}


def fill(home: Path, size: int) -> None:
    """A ledger of about `size` bytes, as months of use would leave it."""
    line = ledger.encode_line(Event.ACTIVITY_CHANGED, "github.com-acme-widgets-1", 100, 100, {"activity": "idle"}, 0)
    (home / ledger.LEDGER_FILE).write_bytes(line * (size // len(line)))


def refusal_in_process(home: Path, repeats: int = 2000) -> dict[str, float]:
    """Microseconds per refusal of `check_capacity`, with the ledger and with its writes made no-ops."""
    import time

    from kugetsu_tui.base.errors import AtCapacityError
    from kugetsu_tui.sessions import admission

    def per_call() -> float:
        started = time.perf_counter()
        for _ in range(repeats):
            try:
                admission.check_capacity(Home(home), "start dev session", "github.com-acme-widgets-999")
            except AtCapacityError:
                pass
        return (time.perf_counter() - started) / repeats * 1e6

    real = ledger.record
    with_us, without_us = [], []
    for _ in range(5):  # interleaved
        with_us.append(per_call())
        ledger.record = lambda *a, **k: None
        try:
            without_us.append(per_call())
        finally:
            ledger.record = real
    from kugetsu_tui.base.locking import sessions_lock

    started = time.perf_counter()
    for _ in range(repeats):
        with sessions_lock(Home(home)):
            pass
    lock_us = (time.perf_counter() - started) / repeats * 1e6
    return {
        "with_ledger_us": round(statistics.median(with_us), 1),
        "without_ledger_us": round(statistics.median(without_us), 1),
        "of_which_the_lock_us": round(lock_us, 1),  # taken to confirm a refusal since the ledger, with or without it
    }


def run(runs: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="kugetsu-bench-ledger-"))
    home = make_home(work / "home", 100, 100)
    fill(home, ledger.MAX_BYTES - 64 * 1024)  # no rotation in the measured runs
    env = dict(child_env(), KUGETSU_HOME=str(home))
    times: dict[str, dict[str, list[float]]] = {name: {"with": [], "without": []} for name in COMMANDS}
    for _ in range(runs):
        for name, (args, expect) in COMMANDS.items():
            for mode in ("with", "without"):
                argv = [sys.executable, "-m", "benchmarks.ledger_cli", mode, *args]
                times[name][mode].append(timed(argv, env, expect))
    in_process = refusal_in_process(home)
    lines = len(ledger.read_events(Home(home)))
    result: dict[str, object] = {
        "runs": runs,
        "dev_sessions": 100,
        "ledger_lines": lines,
        "check_capacity refusing, in one process": in_process,
    }
    for name, modes in times.items():
        with_ms = statistics.median(modes["with"]) * 1000
        without_ms = statistics.median(modes["without"]) * 1000
        result[name] = {
            "with_ledger_ms": round(with_ms, 1),
            "without_ledger_ms": round(without_ms, 1),
            "difference_ms": round(with_ms - without_ms, 1),
        }
    return result


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    result = run(runs)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
