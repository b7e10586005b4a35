"""The slot ledger: one line per capacity event, in the order of the changes, never failing an operation.

The race tests replay the ledger written by many processes at once and check it against the files: every
admission adds one to the count the line before it left, every release takes one away, every other event
leaves it, and the last count is the number of dev files left.
"""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions import ledger
from kugetsu_tui.sessions.ledger import Event
from tests.helpers import demo_agent_config, dev_files, make_home, pid_alive, run_cli, wait_for

LIMIT = 3


def lines(home: Home) -> list[dict]:
    return ledger.read_events(home)


def events(home: Home, kind: Event) -> list[dict]:
    return [e for e in lines(home) if e["event"] == kind]


def assert_agrees_with_the_files(home: Home) -> None:
    """Each line's count follows from the line before it by its event; the last is the files' count."""
    previous = 0
    for line in lines(home):
        step = {Event.ADMITTED: 1, Event.RESUMED: 1, Event.RELEASED: -1, Event.PARKED: -1}.get(line["event"], 0)
        assert line["active"] == previous + step, (line, previous)
        previous = line["active"]
    assert previous == len(dev_files(home))


def test_a_line_is_one_json_object_with_the_count_after_it(home: Home) -> None:
    ledger.record(home, Event.ADMITTED, "github.com-a-b-1", active=1, limit=3)
    raw = (home.root / "ledger.jsonl").read_bytes()
    assert raw.count(b"\n") == 1 and raw.endswith(b"\n")
    line = json.loads(raw)
    assert line["event"] == "admitted" and line["session"] == "github.com-a-b-1"
    assert (line["active"], line["limit"]) == (1, 3)
    assert isinstance(line["t"], float)
    assert os.stat(home.root / "ledger.jsonl").st_mode & 0o777 == 0o600


def test_long_text_is_cut_so_that_a_line_is_one_atomic_write() -> None:
    line = ledger.encode_line(Event.QUEUED, "x" * 10_000, 1, 2, {"reason": "é" * 10_000}, 0.0)
    assert len(line) <= ledger.MAX_LINE < os.pathconf("/", "PC_PIPE_BUF") + 1
    assert json.loads(line)["session"] == "x" * 512


def test_a_name_that_is_not_utf8_is_kept_as_its_escape() -> None:
    name = os.fsdecode(b"github.com-a-b-\xff")
    assert json.loads(ledger.encode_line(Event.ADMITTED, name, 1, 2, {}, 0.0))["session"] == name


def test_it_rotates_by_size_and_keeps_one_old_file(home: Home, monkeypatch) -> None:
    monkeypatch.setattr(ledger, "MAX_BYTES", 400)
    for n in range(40):
        ledger.record(home, Event.QUEUED, f"s{n}", active=0, limit=3)
    assert sorted(p.name for p in home.root.glob("ledger.jsonl*")) == ["ledger.jsonl", "ledger.jsonl.1"]
    assert all(p.stat().st_size <= 400 for p in home.root.glob("ledger.jsonl*"))
    kept = [e["session"] for e in lines(home)]
    assert kept == [f"s{n}" for n in range(40 - len(kept), 40)]  # oldest first, the newest last


def test_lines_that_are_not_events_are_skipped(home: Home) -> None:
    ledger.record(home, Event.QUEUED, "a", active=0, limit=3)
    with open(home.root / "ledger.jsonl", "ab") as handle:
        handle.write(b'{"t": 1, "event"\n[1, 2]\n\xff\n')
    ledger.record(home, Event.QUEUED, "b", active=0, limit=3)
    assert [e["session"] for e in lines(home)] == ["a", "b"]


def test_a_ledger_that_cannot_be_written_never_fails_the_start(home: Home) -> None:
    (home.root / "ledger.jsonl").mkdir()
    result = run_cli(home, "start", "shoko/kugetsu#1", "work")
    assert result.returncode == 0, result.stderr
    assert dev_files(home) == ["github.com-shoko-kugetsu-1.json"]


def test_a_refused_start_is_one_line_with_the_full_count(home: Home) -> None:
    for n in range(LIMIT):
        assert (
            run_cli(home, "start", f"shoko/kugetsu#{n + 1}", "work", env={"MAX_CONCURRENT_AGENTS": "3"}).returncode == 0
        )
    result = run_cli(home, "start", "shoko/kugetsu#9", "work", env={"MAX_CONCURRENT_AGENTS": "3"})
    assert result.returncode == 2
    refused = events(home, Event.REFUSED_AT_CAPACITY)
    assert [(e["session"], e["active"], e["limit"]) for e in refused] == [("github.com-shoko-kugetsu-9", 3, 3)]
    assert [e["session"] for e in events(home, Event.ADMITTED)] == [
        f"github.com-shoko-kugetsu-{n + 1}" for n in range(3)
    ]


def test_the_queue_records_queued_and_dequeued_with_the_wait(home: Home) -> None:
    env = {"MAX_CONCURRENT_AGENTS": "1"}
    assert run_cli(home, "start", "shoko/kugetsu#1", "work", env=env).returncode == 0
    assert run_cli(home, "start", "shoko/kugetsu#2", "later", "--queue", env=env).returncode == 0
    assert [e["session"] for e in events(home, Event.QUEUED)] == ["github.com-shoko-kugetsu-2"]
    assert run_cli(home, "destroy", "shoko/kugetsu#1", "-y", env=env).returncode == 0
    assert run_cli(home, "queue", "drain", env=env).returncode == 0
    (dequeued,) = events(home, Event.DEQUEUED)
    assert dequeued["reason"] == "claimed" and dequeued["waited_s"] >= 0
    assert dequeued["item"] == events(home, Event.QUEUED)[0]["item"]
    assert_agrees_with_the_files(home)


def test_a_limit_written_is_a_line(home: Home) -> None:
    assert run_cli(home, "limit", "7").returncode == 0
    assert [(e["limit"], e["active"]) for e in events(home, Event.LIMIT_CHANGED)] == [(7, 0)]


def test_the_supervisor_records_the_holders_activity(home: Home) -> None:
    assert run_cli(home, "start", "shoko/kugetsu#1", "work").returncode == 0
    wait_for(lambda: [e["activity"] for e in events(home, Event.ACTIVITY_CHANGED)] == ["busy", "idle"])


# --- racing processes ---------------------------------------------------------------------------


def _gated(home_root: str, argv: list[str], barrier) -> None:
    """One CLI command in a forked process, released with the others by the barrier."""
    import io
    import sys

    from kugetsu_tui.cli import main as cli

    os.environ["KUGETSU_HOME"] = home_root
    os.environ["MAX_CONCURRENT_AGENTS"] = str(LIMIT)
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    barrier.wait(timeout=60)
    sys.exit(cli.main(argv))


def _race(home: Home, commands: list[list[str]]) -> list[int | None]:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(commands))
    procs = [context.Process(target=_gated, args=(str(home.root), argv, barrier)) for argv in commands]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    return [proc.exitcode for proc in procs]


def _agents_done(home: Home) -> None:
    """The demo agents exit at once; their supervisors' last lines are written before the check."""

    def quiet() -> bool:
        for path in home.sessions_dir.glob("*.json"):
            data = json.loads(path.read_text())
            if pid_alive(data.get("supervisor_pid")):
                return False
        return True

    wait_for(quiet, timeout=30)


@pytest.mark.timeout(240)
def test_the_ledger_never_disagrees_with_the_files_across_racing_starts_refusals_destroys_and_restores(
    tmp_path,
) -> None:
    home = make_home(tmp_path)
    demo_agent_config(home, seconds=0)
    codes = _race(home, [["start", f"shoko/kugetsu#{n}", "race"] for n in range(1, 11)])
    assert sorted(-1 if c is None else c for c in codes) == [0] * LIMIT + [2] * 7
    assert len(events(home, Event.REFUSED_AT_CAPACITY)) == 7
    _agents_done(home)
    assert_agrees_with_the_files(home)

    held = [name[: -len(".json")] for name in dev_files(home)]
    codes = _race(
        home,
        [["destroy", held[0], "-y"], ["destroy", held[1], "-y"]]
        + [["start", f"shoko/kugetsu#{n}", "race"] for n in range(20, 26)]
        + [["queue", "add", f"shoko/kugetsu#{n}", "later"] for n in range(30, 33)]
        + [["queue", "drain"], ["queue", "drain"]],
    )
    assert codes.count(0) >= 2 + 3 + 2, codes
    _agents_done(home)
    assert_agrees_with_the_files(home)

    codes = _race(
        home,
        [["restore", held[0]], ["restore", held[1]]] + [["start", f"shoko/kugetsu#{n}", "race"] for n in range(40, 44)],
    )
    _agents_done(home)
    assert_agrees_with_the_files(home)
    refused = len(events(home, Event.REFUSED_AT_CAPACITY))
    assert refused >= codes.count(2) > 0  # every exit 2 is one line (a queue drain's refusal too)
    assert all(e["active"] == e["limit"] == LIMIT for e in events(home, Event.REFUSED_AT_CAPACITY))


def test_no_line_is_torn_when_many_processes_append_at_once(tmp_path) -> None:
    home = make_home(tmp_path)
    context = multiprocessing.get_context("fork")

    def write(n: int) -> None:
        for i in range(200):
            ledger.record(home, Event.QUEUED, f"p{n}-{i}-" + "x" * 300, active=0, limit=1)

    procs = [context.Process(target=write, args=(n,)) for n in range(8)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    raw = (home.root / "ledger.jsonl").read_bytes().splitlines()
    assert len(raw) == 8 * 200
    assert all(json.loads(line)["event"] == "queued" for line in raw)
