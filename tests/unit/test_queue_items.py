"""Queue item files in kugetsu's format: order, kugetsu's own states and fields, and hostile files."""

from __future__ import annotations

import json
import os
from datetime import datetime

import pytest

from kugetsu_tui.queue.items import list_items, pending_in_order, read_item, waiting_count
from tests.helpers import (
    assert_one_line_error,
    demo_store,
    dev_files,
    run_cli,
    store_ids,
    tree_listing,
)
from tests.unit.queue_fixtures import (
    KUGETSU_COMPLETED,
    KUGETSU_ERROR,
    KUGETSU_NOTIFIED,
    KUGETSU_PENDING,
    item_data,
    pending,
    queue_json,
    write_item,
)

# --- kugetsu's own items -------------------------------------------------------------------------


def test_kugetsu_items_are_listed_with_their_states_and_fields(home):
    for data in (KUGETSU_COMPLETED, KUGETSU_ERROR, KUGETSU_NOTIFIED, KUGETSU_PENDING):
        write_item(home, data)

    listing = queue_json(home, "--all")
    assert listing["queued"] == 1
    by_id = {entry["id"]: entry for entry in listing["items"]}
    assert [entry["state"] for entry in listing["items"]] == ["pending", "notified", "error", "completed"]
    assert by_id["q_1743264970_4821"]["position"] == 1
    notified = by_id["q_1743264000_1170"]
    assert notified["position"] is None
    assert (notified["opencode_session_id"], notified["pid"], notified["fork_pid"]) == ("ses_2b7f9c1e0a", 48211, 48230)
    assert notified["notified_at"] == "2026-03-29T18:00:02+02:00"
    assert by_id["q_1743262000_0007"]["error"] == "kugetsu start failed 3 times"

    text = run_cli(home, "queue", "ls")
    assert text.returncode == 0, text.stderr
    assert "opencode session id ses_2b7f9c1e0a, pid 48211, fork pid 48230" in text.stdout
    assert "q_1743263000_0042" not in text.stdout  # completed items only with --all
    assert text.stdout.splitlines()[-1] == "1 queued"


def test_pending_items_go_oldest_pending_since_first_whatever_the_offset_or_file_name(home):
    # 16:00Z, 16:30Z and 17:00Z, written in another order, with offsets that sort wrongly as text.
    write_item(home, pending(3, "2026-03-29T17:00:00Z"), name="a")
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00"), name="c")
    write_item(home, pending(2, "2026-03-29T16:30:00+00:00"), name="b")
    assert [entry["issue_ref"][-2:] for entry in queue_json(home)["items"]] == ["#1", "#2", "#3"]
    assert [entry["position"] for entry in queue_json(home)["items"]] == [1, 2, 3]


def test_ties_in_one_second_go_by_id_and_a_missing_pending_since_by_the_files_time(home):
    write_item(home, pending(2, "2026-03-29T18:00:00+02:00", id="q_2"), name="q_2")
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00", id="q_1"), name="q_1")
    late = write_item(home, pending(9, "not a time", id="q_9"), name="q_9")
    os.utime(late, (1e9, 1e9))  # 2001: before the others
    assert [item.id for item in pending_in_order(list_items(home))] == ["q_9", "q_1", "q_2"]


def test_notified_completed_and_error_items_are_left_alone_by_a_drain(home):
    for data in (KUGETSU_COMPLETED, KUGETSU_ERROR, KUGETSU_NOTIFIED):
        write_item(home, data)
    before = tree_listing(home.queue_items_dir)
    result = run_cli(home, "queue", "drain")
    assert result.returncode == 0, result.stderr
    assert "0 started, 0 still queued" in result.stdout
    assert tree_listing(home.queue_items_dir) == before
    assert dev_files(home) == []


def test_a_started_item_keeps_every_field_it_had_and_gains_ours(home):
    data = dict(KUGETSU_PENDING, priority="high", labels=["bug"], daemon={"host": "pm-box", "retries": 0})
    write_item(home, data)
    result = run_cli(home, "queue", "drain")
    assert result.returncode == 0, result.stderr

    started = item_data(home, data["id"])
    assert started["state"] == "completed"
    assert started["session"] == "github.com-shoko-kugetsu-150"
    assert started["opencode_session_id"] in store_ids(demo_store(home))
    for key in ("id", "issue_ref", "message", "pending_since", "notified_at", "priority", "labels", "daemon"):
        assert started[key] == data[key], key
    assert started["completed_at"] and started["error"] is None
    assert started["claimed_by"]["pid"] != os.getpid()  # the CLI process claimed it
    assert os.stat(home.queue_items_dir / f"{data['id']}.json").st_mode & 0o777 == 0o600


# --- hostile files ---------------------------------------------------------------------------------

HOSTILE = {
    "broken": (b'{"id": "q_broken", "issue_ref": ', "invalid JSON"),
    "binary": (bytes(range(256)), "not UTF-8"),
    "empty": (b"", "empty file"),
    "array": (b'["pending"]', "JSON array"),
    "huge": (b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}', "larger than 1 MiB"),
    "no-ref": (json.dumps({"id": "q_x", "message": "m", "state": "pending"}).encode(), "no issue_ref"),
    "no-message": (json.dumps({"id": "q_y", "issue_ref": "a/b#1", "state": "pending"}).encode(), "no message"),
}


def _hostile_home(home, tmp_path):
    for name, (raw, _) in HOSTILE.items():
        write_item(home, raw, name=name)
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps(pending(77, "2026-03-29T18:00:00+02:00")))
    os.symlink(outside, home.queue_items_dir / "link.json")
    (home.queue_items_dir / "dir.json").mkdir()
    (home.queue_items_dir / ".q_half.json.123.tmp").write_bytes(b"{")  # a writer's temp file: not an item
    good = write_item(home, pending(5, "2026-03-29T18:00:00+02:00"))
    return outside, good


def test_hostile_item_files_are_shown_as_broken_and_never_crash_anything(home, tmp_path):
    _hostile_home(home, tmp_path)
    expected = {name: reason for name, (_, reason) in HOSTILE.items()}
    expected.update({"link": "is a symlink", "dir": "not a regular file"})

    listing = queue_json(home)
    assert listing["queued"] == 1
    broken = {entry["id"]: entry["error"] for entry in listing["items"] if entry["state"] == "broken"}
    assert set(broken) == set(expected)
    for name, reason in expected.items():
        assert reason in broken[name], (name, broken[name])
    text = run_cli(home, "queue", "ls")
    assert text.returncode == 0 and "Traceback" not in text.stderr
    assert "\x00" not in text.stdout and "\x1b" not in text.stdout
    assert json.loads(run_cli(home, "ls", "--json").stdout)["queued"] == 1
    assert waiting_count(home) == 1


def test_a_drain_starts_the_good_item_and_leaves_every_hostile_file_as_it_was(home, tmp_path):
    outside, good = _hostile_home(home, tmp_path)
    before = {k: v for k, v in tree_listing(home.queue_items_dir).items() if k != good.name}
    outside_before = outside.read_bytes()

    result = run_cli(home, "queue", "drain")
    assert result.returncode == 0, result.stderr
    assert "1 started, 0 still queued" in result.stdout
    assert dev_files(home) == ["github.com-shoko-kugetsu-5.json"]
    after = {k: v for k, v in tree_listing(home.queue_items_dir).items() if k != good.name}
    assert after == before
    assert outside.read_bytes() == outside_before


def test_queue_rm_removes_a_broken_file_and_a_symlink_but_never_its_target(home, tmp_path):
    outside, _ = _hostile_home(home, tmp_path)
    assert run_cli(home, "queue", "rm", "broken").returncode == 0
    assert not os.path.lexists(home.queue_items_dir / "broken.json")
    assert run_cli(home, "queue", "rm", "link.json").returncode == 0
    assert not os.path.lexists(home.queue_items_dir / "link.json") and outside.exists()
    assert_one_line_error(run_cli(home, "queue", "rm", "dir"), 1, "is a directory")
    assert (home.queue_items_dir / "dir.json").is_dir()


@pytest.mark.parametrize("bad", ["../sessions/base", ".lock", "", "a/b"])
def test_queue_rm_refuses_anything_but_a_plain_item_id(home, bad):
    assert_one_line_error(run_cli(home, "queue", "rm", bad), 1, "invalid queue item id")
    assert (home.sessions_dir / "base.json").exists()


def test_read_item_reports_a_vanished_file_as_missing(home):
    with pytest.raises(FileNotFoundError):
        read_item(home.queue_items_dir / "q_gone.json")


def test_queue_ls_json_has_exactly_the_documented_shape(home):
    write_item(home, KUGETSU_NOTIFIED)
    listing = queue_json(home)
    assert set(listing) == {"queued", "items"}
    (entry,) = listing["items"]
    assert entry == {
        "id": "q_1743264000_1170",
        "position": None,
        "state": "notified",
        "issue_ref": "github.com/shoko/kugetsu#147",
        "message": "Add the queue",
        "pending_since": "2026-03-29T17:59:50+02:00",
        "attempts": 0,
        "error": None,
        "last_error": None,
        "session": None,
        "notified_at": "2026-03-29T18:00:02+02:00",
        "completed_at": None,
        "opencode_session_id": "ses_2b7f9c1e0a",
        "pid": 48211,
        "fork_pid": 48230,
        "path": str(home.queue_items_dir / "q_1743264000_1170.json"),
    }


@pytest.mark.parametrize("bad", [True, "1", None, float("nan"), float("inf"), [1]])
def test_a_queue_order_that_is_not_a_finite_number_is_ignored(home, bad):
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00"))
    write_item(home, pending(2, "2026-03-29T18:00:01+02:00", queue_order=bad))
    assert [item.id for item in pending_in_order(list_items(home))] == ["q_1", "q_2"]


def test_queue_order_is_read_before_pending_since_and_leaves_the_age_alone(home):
    write_item(home, pending(1, "2026-03-29T18:00:00+02:00"))
    write_item(home, pending(2, "2026-03-29T19:00:00+02:00", queue_order=0))
    items = pending_in_order(list_items(home))
    assert [item.id for item in items] == ["q_2", "q_1"]
    assert items[0].queued_timestamp() == datetime.fromisoformat("2026-03-29T19:00:00+02:00").timestamp()
