"""The queue's CLI: start --queue, queue add|ls|rm|front|drain, refusals and exit codes."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import pytest

from kugetsu_tui.queue.items import list_items
from tests.helpers import (
    assert_one_line_error,
    demo_agent_config,
    dev_files,
    make_home,
    read_index,
    run_cli,
    session_data,
    tree_listing,
    write_session,
)
from tests.unit.queue_fixtures import item_data, pending, queue_json, write_item

CAP1 = {"MAX_CONCURRENT_AGENTS": "1"}
ITEM_KEYS = {"id", "issue_ref", "message", "state", "pending_since", "notified_at", "completed_at", "error", "attempts"}


def queued_id(stdout: str) -> str:
    match = re.search(r"\bas (q_\w+) \(position (\d+)\)", stdout)
    assert match, stdout
    return match.group(1)


def test_start_with_queue_admits_at_once_when_a_slot_is_free(home):
    result = run_cli(home, "start", "shoko/kugetsu#1", "go", "--queue", env=CAP1)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("started github.com/shoko/kugetsu#1")
    assert dev_files(home) == ["github.com-shoko-kugetsu-1.json"]
    assert list_items(home) == []


def test_start_with_queue_at_capacity_queues_in_kugetsus_format_and_exits_0(home):
    write_session(home, "github.com-shoko-kugetsu-1")
    first = run_cli(home, "start", "shoko/kugetsu#2", "second", "--queue", env=CAP1)
    assert first.returncode == 0, first.stderr
    assert "at capacity: queued github.com/shoko/kugetsu#2" in first.stdout and "(position 1)" in first.stdout
    second = run_cli(home, "start", "https://github.com/shoko/kugetsu/issues/3", "third", "--queue", env=CAP1)
    assert "(position 2)" in second.stdout

    data = item_data(home, queued_id(first.stdout))
    assert set(data) == ITEM_KEYS
    assert data["id"] == queued_id(first.stdout) and data["id"].startswith("q_")
    assert (data["issue_ref"], data["message"], data["state"]) == ("github.com/shoko/kugetsu#2", "second", "pending")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", data["pending_since"])
    assert (data["notified_at"], data["completed_at"], data["error"], data["attempts"]) == (None, None, None, 0)
    assert dev_files(home) == ["github.com-shoko-kugetsu-1.json"]


def test_a_plain_start_at_capacity_still_exits_2_and_queues_nothing(home):
    write_session(home, "github.com-shoko-kugetsu-1")
    result = run_cli(home, "start", "shoko/kugetsu#2", "x", env=CAP1)
    assert_one_line_error(result, 2, "maximum concurrent agents (1) reached")
    assert list_items(home) == []


def test_queue_add_then_ls_shows_position_age_and_count(home):
    write_session(home, "github.com-shoko-kugetsu-1")
    assert run_cli(home, "queue", "add", "shoko/kugetsu#2", "two").returncode == 0
    assert run_cli(home, "queue", "add", "shoko/kugetsu#3", "three").returncode == 0
    listing = queue_json(home)
    assert listing["queued"] == 2
    assert [(e["position"], e["issue_ref"], e["message"]) for e in listing["items"]] == [
        (1, "github.com/shoko/kugetsu#2", "two"),
        (2, "github.com/shoko/kugetsu#3", "three"),
    ]
    assert run_cli(home, "ls").stdout.splitlines()[0].startswith("active 1/3, 2 queued")
    assert json.loads(run_cli(home, "ls", "--json").stdout)["queued"] == 2


def test_a_ref_that_has_a_session_is_refused(home):
    write_session(home, "github.com-shoko-kugetsu-1", issue_ref="github.com/shoko/kugetsu#1")
    assert_one_line_error(run_cli(home, "queue", "add", "shoko/kugetsu#1", "x"), 1, "already has a session")
    assert list_items(home) == []


def test_a_ref_that_is_already_queued_is_refused_in_any_of_its_forms(home):
    added = run_cli(home, "queue", "add", "shoko/kugetsu#4", "x")
    item_id = queued_id(added.stdout)
    for form in ("github.com/shoko/kugetsu#4", "https://github.com/shoko/kugetsu/issues/4"):
        assert_one_line_error(run_cli(home, "queue", "add", form, "y"), 1, f"already queued as {item_id}")
    # kugetsu names shoko-x/y#4 and shoko/x-y#4 alike: they cannot both wait for one file name.
    assert run_cli(home, "queue", "add", "shoko/x-y#4", "z").returncode == 0
    assert_one_line_error(run_cli(home, "queue", "add", "shoko-x/y#4", "z"), 1, "already queued")
    assert len(list_items(home)) == 2


def test_start_with_queue_refuses_a_ref_that_waits_in_the_queue_even_with_a_free_slot(home):
    run_cli(home, "queue", "add", "shoko/kugetsu#4", "queued first")
    result = run_cli(home, "start", "shoko/kugetsu#4", "again", "--queue")
    assert_one_line_error(result, 1, "already queued")
    assert dev_files(home) == [] and read_index(home)["issues"] == {}


def test_queue_rm_removes_a_pending_item_and_names_unknown_ones(home):
    item_id = queued_id(run_cli(home, "queue", "add", "shoko/kugetsu#4", "x").stdout)
    result = run_cli(home, "queue", "rm", item_id)
    assert result.returncode == 0 and f"removed {item_id}" in result.stdout
    assert list_items(home) == []
    assert_one_line_error(run_cli(home, "queue", "rm", item_id), 1, "no queue item")


def test_queue_rm_refuses_an_item_being_started(home):
    write_item(home, pending(4, "2026-03-29T18:00:00+02:00", state="starting", claimed_by={"pid": 4242}))
    assert_one_line_error(run_cli(home, "queue", "rm", "q_4"), 1, "being started right now")
    assert "claimed by pid 4242" in run_cli(home, "queue", "ls").stdout
    assert item_data(home, "q_4")["state"] == "starting"


def _hours_ago(hours: float) -> str:
    return datetime.fromtimestamp(time.time() - hours * 3600, UTC).astimezone().isoformat(timespec="seconds")


def _ls_rows(home) -> dict[str, list[str]]:
    """`queue ls` as {id: [position, state, issue, age, ...]}."""
    lines = run_cli(home, "queue", "ls").stdout.splitlines()[1:-1]
    return {cells[1]: cells for cells in (line.split() for line in lines)}


def test_queue_front_moves_an_item_ahead_by_position_and_keeps_its_age(home):
    for number, hours in ((1, 3), (2, 2), (3, 1)):
        write_item(home, pending(number, _hours_ago(hours)))
    since = {f"q_{n}": item_data(home, f"q_{n}")["pending_since"] for n in (1, 2, 3)}

    result = run_cli(home, "queue", "front", "q_3")
    assert result.returncode == 0 and "q_3 (github.com/shoko/kugetsu#3) is next in the queue" in result.stdout
    assert [(e["id"], e["position"]) for e in queue_json(home)["items"]] == [("q_3", 1), ("q_1", 2), ("q_2", 3)]
    assert {e["id"]: e["pending_since"] for e in queue_json(home)["items"]} == since  # the age is kugetsu's, kept
    rows = _ls_rows(home)  # POS and AGE: in front, and still an hour old
    assert [(rows[i][0], rows[i][4]) for i in ("q_3", "q_1", "q_2")] == [("1", "1h"), ("2", "3h"), ("3", "2h")]

    # kugetsu keeps adding items its own way (no queue_order): they go behind; a second front goes first.
    write_item(home, pending(4, _hours_ago(0)))
    assert run_cli(home, "queue", "front", "q_2").returncode == 0
    assert [e["id"] for e in queue_json(home)["items"]] == ["q_2", "q_3", "q_1", "q_4"]
    assert item_data(home, "q_2")["pending_since"] == since["q_2"]
    assert run_cli(home, "queue", "front", "q_2").returncode == 0  # already first: nothing changes
    assert [e["id"] for e in queue_json(home)["items"]] == ["q_2", "q_3", "q_1", "q_4"]

    result = run_cli(home, "queue", "drain", env=CAP1)  # the drainer starts the one in front
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("started q_2 ")
    assert item_data(home, "q_2")["state"] == "completed"


def test_queue_front_refuses_an_item_that_is_not_pending(home):
    write_item(home, pending(4, "2026-03-29T18:00:00+02:00", state="error", error="gave up"))
    assert_one_line_error(run_cli(home, "queue", "front", "q_4"), 1, "is error, not pending")


def test_queue_drain_starts_in_order_while_slots_are_free_and_leaves_the_rest(home):
    ids = [queued_id(run_cli(home, "queue", "add", f"shoko/kugetsu#{n}", f"m{n}").stdout) for n in (1, 2, 3)]
    result = run_cli(home, "queue", "drain", env={"MAX_CONCURRENT_AGENTS": "2"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"started {ids[0]} github.com/shoko/kugetsu#1: as github.com-shoko-kugetsu-1")
    assert lines[1].startswith(f"started {ids[1]} github.com/shoko/kugetsu#2")
    assert lines[2] == "2 started, 1 still queued"
    assert dev_files(home) == ["github.com-shoko-kugetsu-1.json", "github.com-shoko-kugetsu-2.json"]
    assert [item_data(home, i)["state"] for i in ids] == ["completed", "completed", "pending"]
    first = session_data(home, "github.com-shoko-kugetsu-1")
    assert item_data(home, ids[0])["run_id"] == first["run_id"]  # the claim names its admission


def test_queue_drain_at_capacity_starts_nothing_and_exits_0(home):
    write_session(home, "github.com-shoko-kugetsu-1")
    run_cli(home, "queue", "add", "shoko/kugetsu#2", "x")
    result = run_cli(home, "queue", "drain", env=CAP1)
    assert result.returncode == 0 and result.stdout == "0 started, 1 still queued\n"


@pytest.mark.parametrize(
    "broken, reason",
    [
        ("no base session", "no base session"),
        ("agent missing", "'/nonexistent/opencode' not found"),
        ("invalid limit", "invalid limit '0'"),
    ],
)
def test_a_drain_blocked_for_every_item_says_why_and_touches_no_item(tmp_path, broken, reason):
    home = make_home(tmp_path, base=broken != "no base session")
    demo_agent_config(home, **({"start": ["/nonexistent/opencode", "run"]} if broken == "agent missing" else {}))
    write_item(home, pending(4, "2026-03-29T18:00:00+02:00"))
    before = tree_listing(home.root)
    env = {"MAX_CONCURRENT_AGENTS": "0" if broken == "invalid limit" else "3"}
    result = run_cli(home, "queue", "drain", env=env)
    assert reason in assert_one_line_error(result, 1, "queue drain blocked")
    assert result.stdout == ""  # the reason is said once, on stderr
    assert _without_lock(tree_listing(home.root)) == _without_lock(before)


def _without_lock(listing):
    return {path: entry for path, entry in listing.items() if not path.endswith(".lock")}


def test_an_item_whose_ref_got_a_session_meanwhile_becomes_error_and_the_next_one_starts(home):
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00"))
    write_item(home, pending(2, "2026-03-29T18:00:01+02:00"))
    write_session(home, "github.com-shoko-kugetsu-1", issue_ref="github.com/shoko/kugetsu#1")
    result = run_cli(home, "queue", "drain")
    assert result.returncode == 0, result.stderr
    assert "refused q_1 github.com/shoko/kugetsu#1: github.com/shoko/kugetsu#1 already has a session" in result.stdout
    assert item_data(home, "q_1")["state"] == "error"
    assert "already has a session" in item_data(home, "q_1")["error"]
    assert item_data(home, "q_2")["state"] == "completed"


def test_an_item_with_an_invalid_ref_becomes_error_with_the_reason(home):
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00", issue_ref="not a ref"))
    assert run_cli(home, "queue", "drain").returncode == 0
    assert "invalid issue ref" in item_data(home, "q_1")["error"]
    assert dev_files(home) == []


@pytest.mark.parametrize("args", [("queue",), ("queue", "bogus"), ("queue", "add", "a/b#1"), ("queue", "rm")])
def test_queue_usage_errors_exit_1(home, args):
    result = run_cli(home, *args)
    assert result.returncode == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("where", ["queue", "queue/items"])
@pytest.mark.parametrize("args", [("queue", "ls"), ("queue", "add", "a/b#1", "x"), ("queue", "drain", "--watch")])
def test_a_file_where_the_queue_directory_should_be_is_named_in_one_line(home, where, args):
    (home.root / where).parent.mkdir(parents=True, exist_ok=True)
    (home.root / where).write_text("not a directory")
    result = run_cli(home, *args, timeout=20)
    assert_one_line_error(result, 1, f"the queue directory {home.root / where} is not a directory", "move that")
    assert (home.root / where).read_text() == "not a directory"
