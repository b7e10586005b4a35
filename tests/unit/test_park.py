"""Park and resume: a dev session's slot freed and taken back, its file always in exactly one place."""

from __future__ import annotations

import json
import os
import time

import pytest

from kugetsu_tui.base.errors import AtCapacityError, ExitCode, KugetsuError
from kugetsu_tui.lifecycle.park import park_session, resume_session
from kugetsu_tui.queue.parking import apply_policy, idle_sessions, park, park_idle
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.files import count_active
from kugetsu_tui.sessions.ledger import read_events
from kugetsu_tui.sessions.parked import PARKED_AT, parked_path
from tests.helpers import (
    assert_one_line_error,
    demo_agent_config,
    demo_store,
    dev_files,
    read_index,
    run_cli,
    set_toml_limit,
    wait_state,
    write_session,
)
from tests.unit.test_interrupted import fault_point_number
from tests.unit.test_ledger import assert_agrees_with_the_files

NAME, REF = "github.com-shoko-kugetsu-49", "github.com/shoko/kugetsu#49"
OTHER, OTHER_REF = "github.com-shoko-kugetsu-50", "github.com/shoko/kugetsu#50"


def started(home, ref=REF, name=NAME):
    assert run_cli(home, "start", ref, "work").returncode == 0
    return wait_state(home, name, "idle")


def said(home, sid) -> list[str]:
    """What the demo agent's transcript of `sid` holds from the user."""
    session = json.loads((demo_store(home) / f"{sid}.json").read_text())
    return [m["text"] for m in session["messages"] if m["role"] == "user"]


def queue_item(home, item_id, ref, state="pending"):
    """An item as kugetsu's own queue writes it (ours refuses a ref that has a session)."""
    home.queue_items_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "id": item_id,
        "issue_ref": ref,
        "message": "later",
        "state": state,
        "pending_since": "2026-03-29T18:00:00+02:00",
    }
    (home.queue_items_dir / f"{item_id}.json").write_text(json.dumps(data))


def places(home, name=NAME) -> tuple[bool, bool]:
    """(in sessions/, in parked/)"""
    return os.path.lexists(home.session_path(name)), os.path.lexists(parked_path(home, name))


def ls_json(home):
    return json.loads(run_cli(home, "ls", "--json").stdout)


def test_park_frees_the_slot_keeps_the_session_and_resume_takes_it_back(home):
    before = started(home)
    done = run_cli(home, "park", REF)
    assert done.returncode == 0, done.stderr
    assert places(home) == (False, True) and count_active(home) == 0
    parked = json.loads(parked_path(home, NAME).read_text())
    assert parked[PARKED_AT] and parked["opencode_session_id"] == before["opencode_session_id"]
    assert read_index(home)["issues"][REF] == f"{NAME}.json"  # the name stays the session's
    listing = ls_json(home)
    (row,) = [s for s in listing["sessions"] if s["name"] == NAME]
    assert row["state"] == "parked" and row["parked_at"] and listing["active"] == 0 and listing["parked"] == 1
    assert "active 0/" in (text := run_cli(home, "ls").stdout) and "1 parked" in text and "parked" in text

    back = run_cli(home, "resume", NAME)
    assert back.returncode == 0, back.stderr
    assert places(home) == (True, False) and count_active(home) == 1
    data = json.loads(home.session_path(NAME).read_text())
    assert (
        PARKED_AT not in data
        and data["state"] == "idle"
        and data["opencode_session_id"] == before["opencode_session_id"]
    )


def test_continue_on_a_parked_session_resumes_it_then_sends_the_message(home):
    sid = started(home)["opencode_session_id"]
    assert run_cli(home, "park", NAME).returncode == 0
    done = run_cli(home, "continue", REF, "go on")
    assert done.returncode == 0, done.stderr
    assert places(home) == (True, False)
    data = wait_state(home, NAME, "idle")
    assert data["opencode_session_id"] == sid and said(home, sid)[-1] == "go on"


def test_resume_and_continue_at_capacity_exit_2_move_nothing_and_offer_the_queue(home):
    started(home)
    assert run_cli(home, "park", NAME).returncode == 0
    started(home, OTHER_REF, OTHER)
    set_toml_limit(home, "1")
    for args in (("resume", NAME), ("continue", NAME, "go on")):
        refused = run_cli(home, *args)
        line = assert_one_line_error(refused, ExitCode.AT_CAPACITY, "maximum concurrent agents (1)")
        assert f"continue {NAME} --queue" in line
        assert places(home) == (False, True)
    queued = run_cli(home, "continue", NAME, "when there is room", "--queue")
    assert queued.returncode == 0 and "at capacity: queued" in queued.stdout, queued.stderr
    (item,) = json.loads(run_cli(home, "queue", "ls", "--json").stdout)["items"]
    assert item["issue_ref"] == REF and item["message"] == "when there is room"
    assert run_cli(home, "destroy", OTHER, "-y").returncode == 0
    drained = run_cli(home, "queue", "drain")
    assert drained.returncode == 0 and "started" in drained.stdout, drained.stdout + drained.stderr
    assert places(home) == (True, False)
    assert said(home, wait_state(home, NAME, "idle")["opencode_session_id"])[-1] == "when there is room"


def test_park_refuses_base_pm_running_asking_and_queued_sessions_with_one_line(home):
    for target, words in (("base", "only dev sessions"), ("nobody", "no session")):
        assert_one_line_error(run_cli(home, "park", target), 1, words)
    write_session(home, "pm-agent", {"type": "pm_agent", "opencode_session_id": "ses_pm", "state": "idle"})
    assert_one_line_error(run_cli(home, "park", "pm-agent"), 1, "only dev sessions")
    demo_agent_config(home, seconds=60)
    assert run_cli(home, "start", OTHER_REF, "work long").returncode == 0
    wait_state(home, OTHER, "running")
    assert_one_line_error(run_cli(home, "park", OTHER), 1, "its agent is running (pid")
    demo_agent_config(home, seconds=0)
    started(home)
    asking = ActivityInfo(Activity.NEEDS_INPUT, "permission edit: a.py")
    with pytest.raises(KugetsuError, match="waits for an answer"):
        park(home, NAME, asking, asked=True)
    queue_item(home, "q_1", "github.com/SHOKO/kugetsu#49")  # kugetsu's naming: the same session
    assert_one_line_error(run_cli(home, "park", NAME), 1, "waits in the queue (q_1)")
    assert places(home) == (True, False)


def test_a_second_park_and_a_start_of_a_parked_issue_are_refused(home):
    started(home)
    assert run_cli(home, "park", NAME).returncode == 0
    assert_one_line_error(run_cli(home, "park", NAME), 1, "is parked already")
    assert_one_line_error(run_cli(home, "start", REF, "again"), 1, "has a parked session")
    assert_one_line_error(run_cli(home, "resume", OTHER), 1, "no parked session")
    assert run_cli(home, "resume", NAME).returncode == 0
    assert_one_line_error(run_cli(home, "resume", NAME), 1, "no parked session")


def test_racing_parks_and_resumes_leave_the_file_in_exactly_one_place(home):
    import subprocess

    from tests.helpers import PY, cli_env

    started(home)
    for command in ("park", "resume", "park"):
        procs = [
            subprocess.Popen([PY, "-m", "kugetsu_tui", command, NAME], env=cli_env(home), stderr=subprocess.PIPE)
            for _ in range(3)
        ]
        codes = sorted(p.wait(60) for p in procs)
        assert codes == [0, 1, 1], codes
        assert sum(places(home)) == 1
    assert_agrees_with_the_files(home)  # the slot ledger's counts, park and resume lines included


def test_park_and_resume_are_lines_of_the_slot_ledger_and_stats_counts_the_parked_file(home):
    started(home)
    for command in ("park", "resume", "park"):
        assert run_cli(home, command, NAME).returncode == 0
    mine = [(line["event"], line["active"]) for line in read_events(home) if line["session"] == NAME]
    assert mine[0] == ("admitted", 1) and mine[-3:] == [("parked", 0), ("resumed", 1), ("parked", 0)]
    assert_agrees_with_the_files(home)
    stats = json.loads(run_cli(home, "stats", "--json").stdout)
    assert (stats["active"], stats["parked"]) == (0, 1)


def test_destroy_of_a_parked_session_archives_it_and_restore_brings_it_back(home):
    started(home)
    assert run_cli(home, "park", NAME).returncode == 0
    done = run_cli(home, "destroy", NAME, "-y")
    assert done.returncode == 0, done.stderr
    assert places(home) == (False, False) and REF not in read_index(home)["issues"]
    assert run_cli(home, "restore", NAME).returncode == 0
    assert places(home) == (True, False) and wait_state(home, NAME, "idle")


def test_restore_is_refused_while_a_session_of_that_name_is_parked(home):
    started(home)
    assert run_cli(home, "destroy", NAME, "-y").returncode == 0
    write_session(home, NAME, issue_ref=REF)
    assert run_cli(home, "park", NAME).returncode == 0
    assert_one_line_error(run_cli(home, "restore", NAME), 1, "is parked")


@pytest.mark.parametrize("command", ["park", "resume"])
def test_killed_at_every_fault_point_the_file_is_in_one_place_and_the_command_then_works(home, tmp_path, command):
    started(home)
    if command == "resume":
        assert run_cli(home, "park", NAME).returncode == 0
    trace = tmp_path / "trace"
    fault_point_number(home, trace, "journal of " + NAME + " removed", command, NAME)
    points = len(trace.read_text().splitlines())
    undo = "resume" if command == "park" else "park"
    assert run_cli(home, undo, NAME).returncode == 0
    assert points >= 4
    for at in range(1, points + 1):
        killed = run_cli(home, command, NAME, env={"KUGETSU_TUI_KILL_AT": str(at)})
        assert killed.returncode == -9, (at, killed.stderr)
        assert sum(places(home)) == 1, at
        assert run_cli(home, "ls", "--json").returncode == 0
        again = run_cli(home, command, NAME)
        if again.returncode != 0:  # the killed one had done it: only its record was left, now recovered
            assert "parked already" in again.stderr or "no parked session" in again.stderr, (at, again.stderr)
        assert places(home) == ((False, True) if command == "park" else (True, False)), at
        assert run_cli(home, "recover").returncode == 0  # a bare lock file of a kill after the record went
        assert not home.journal_dir.exists(), at
        assert (
            (PARKED_AT in json.loads(parked_path(home, NAME).read_text()))
            if command == "park"
            else (PARKED_AT not in json.loads(home.session_path(NAME).read_text()))
        ), at
        assert run_cli(home, undo, NAME).returncode == 0


def test_idle_over_parks_only_idle_sessions_unused_for_longer(home):
    started(home)
    started(home, OTHER_REF, OTHER)
    hours_ago = time.time() - 3 * 3600
    for name in (NAME,):
        data = json.loads(home.session_path(name).read_text())
        os.utime(home.session_path(name), (hours_ago, hours_ago))
        os.utime(data["log"], (hours_ago, hours_ago))
    done = run_cli(home, "park", "--idle-over", "2h")
    assert done.returncode == 0 and f"parked {NAME} (idle 3h)" in done.stdout and "1 parked" in done.stdout
    assert places(home) == (False, True) and places(home, OTHER) == (True, False)
    assert_one_line_error(run_cli(home, "park", "--idle-over", "soon"), 1, "duration")
    assert_one_line_error(run_cli(home, "park"), 1, "or --idle-over")


def test_the_policy_is_off_by_default_and_never_parks_a_running_asking_queued_or_recent_session(home, monkeypatch):
    long_ago = time.time() - 10 * 3600
    for n in range(1, 6):
        path = write_session(home, f"github.com-shoko-kugetsu-{n}", issue_ref=f"github.com/shoko/kugetsu#{n}")
        os.utime(path, (long_ago, long_ago))
    assert apply_policy(home) == []  # off by default
    home.config_toml.write_text(home.config_toml.read_text() + '\n[capacity]\npark_idle_after = "1h"\n')
    running = write_session(home, "github.com-shoko-kugetsu-1", issue_ref="x#1", state="running", pid=os.getpid())
    os.utime(running, (long_ago, long_ago))
    queue_item(home, "q_3", "github.com/shoko/kugetsu#3")
    os.utime(home.session_path("github.com-shoko-kugetsu-4"), None)  # used just now
    # #2 waits for an answer: the activity says so
    from kugetsu_tui.queue import parking

    asks = {"github.com-shoko-kugetsu-2": ActivityInfo(Activity.NEEDS_INPUT, "permission bash", long_ago)}
    real = parking.park

    def with_activity(home_, target, activity=None, *, asked=False):
        return real(home_, target, asks.get(target, activity), asked=asked or target in asks)

    monkeypatch.setattr(parking, "park", with_activity)
    parked = apply_policy(home)
    assert [o.name for o in parked] == ["github.com-shoko-kugetsu-5"]
    assert sorted(os.listdir(home.parked_dir)) == ["github.com-shoko-kugetsu-5.json"]


def test_a_setting_under_five_minutes_never_parks_a_session_used_in_the_last_five(home):
    path = write_session(home, NAME, issue_ref=REF)
    os.utime(path, (time.time() - 120, time.time() - 120))
    assert idle_sessions(home, 1.0) == []
    assert park_idle(home, 1.0) == []


def test_resume_is_under_the_cap_in_the_locked_section(home, monkeypatch):
    """A slot taken between the preflight and the lock: the resume is refused, the file stays parked."""
    started(home)
    park_session(home, NAME, waiting=lambda s: None, activity=lambda s: None)
    set_toml_limit(home, "1")
    from kugetsu_tui.lifecycle import park as park_module

    real = park_module.check_capacity
    calls = []

    def second_fills(home_, what, session, *, locked):
        calls.append(what)
        if len(calls) == 2:
            write_session(home, OTHER, issue_ref=OTHER_REF)
        return real(home_, what, session, locked=locked)

    monkeypatch.setattr(park_module, "check_capacity", second_fills)
    with pytest.raises(AtCapacityError):
        resume_session(home, NAME)
    assert places(home) == (False, True) and dev_files(home) == [f"{OTHER}.json"]


def test_queue_drain_watch_applies_the_policy_before_each_pass_and_says_what_it_parked(home):
    import asyncio

    from kugetsu_tui.queue.claims import DrainOutcome
    from kugetsu_tui.queue.drain import describe
    from kugetsu_tui.queue.follow import POLICY_INTERVAL_S, _drain, _policy_wait

    path = write_session(home, NAME, issue_ref=REF)
    os.utime(path, (time.time() - 3 * 3600, time.time() - 3 * 3600))
    assert _policy_wait(home) is None and _drain(home, asyncio.Event()) == []  # off: nothing parked, no timer
    home.config_toml.write_text(home.config_toml.read_text() + "\n[capacity]\npark_idle_after = 7200\n")
    assert _policy_wait(home) == POLICY_INTERVAL_S
    (result,) = _drain(home, asyncio.Event())
    assert result.outcome == DrainOutcome.PARKED and describe(result) == f"parked {NAME} (idle 3h)"
    assert places(home) == (False, True)
    home.config_toml.write_text(home.config_toml.read_text() + "surely_not = 1\n")  # in [capacity]: refused
    (result,) = _drain(home, asyncio.Event())
    assert "not applied" in result.detail and "unknown key 'surely_not'" in result.detail
