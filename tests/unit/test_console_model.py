"""The console's model without a screen: the count, the pending rows, the filter, process samples, undo."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.model import ConsoleModel, QueueRow, read_changes
from kugetsu_tui.queue.items import list_items
from kugetsu_tui.queue.manage import enqueue
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.files import read_session
from kugetsu_tui.sessions.limit import Limit
from kugetsu_tui.sessions.overview import SessionView, view
from tests.helpers import write_session


def views(home: Home, *names: str) -> list[SessionView]:
    return [view(read_session(home.session_path(n))) for n in names]


def test_the_count_follows_merges_and_a_rescan_recounts(home: Home) -> None:
    for n in ("a", "b", "c"):
        write_session(home, n)
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, "base", "a", "b"), [])
    assert model.active == 2  # base holds no slot
    model.merge(views(home, "a", "c"), ["b"])  # a changed, c is new, b is gone
    assert model.active == 2 and set(model.views) == {"base", "a", "c"}
    model.active = 99  # drifted
    model.merge([], [], recount=True)
    assert model.active == 2


def test_changes_before_a_draw_fold_into_one_row_update(home: Home) -> None:
    write_session(home, "a")
    write_session(home, "b")
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, "a", "b"), [])
    model.merge(views(home, "a"), [])
    model.merge([], ["b"])
    shown, hidden = model.take_row_changes()
    assert [key for key, _ in shown] == ["a"] and hidden == ["b"]
    assert not model.has_pending_rows and model.take_row_changes() == ([], [])


def test_many_changes_come_a_piece_at_a_time_in_display_order_and_a_new_change_goes_first(home: Home) -> None:
    names = [f"s{n:02}" for n in range(10)]
    for n, name in enumerate(names):
        write_session(home, name, issue_ref=f"github.com/acme/widgets#{n}")
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, *reversed(names)), [])

    def order(row: object) -> str:
        assert isinstance(row, SessionView)
        return row.session.name

    first = model.take_row_changes(4, order)
    assert sorted(key for key, _ in first.shown) == names[:4]  # the top of the table first
    assert model.has_pending_rows
    model.merge(views(home, "s09"), ["s08"])  # a change while the rest wait: drawn at the next call
    second = model.take_row_changes(4, order)
    assert {key for key, _ in second.shown} == {*names[4:8], "s09"} - {"s08"} and second.hidden == ["s08"]
    third = model.take_row_changes(4, order)
    assert {key for key, _ in third.shown} == {"s09"} and not model.has_pending_rows
    model.merge(views(home, "s01"), [])  # fewer than the limit: all at once
    assert [key for key, _ in model.take_row_changes(4, order).shown] == ["s01"]


def test_start_refusal_is_the_cores_at_the_limit_and_with_an_invalid_limit(home: Home) -> None:
    write_session(home, "a")
    model = ConsoleModel(Limit(2, "test"))
    model.merge(views(home, "a"), [])
    assert model.start_refusal() is None
    model.limit = Limit(1, "test")
    assert "maximum concurrent agents (1) reached" in (model.start_refusal() or "")
    model.limit = Limit(None, "config.toml", "invalid limit '0' from config.toml")
    assert "invalid limit '0'" in (model.start_refusal() or "")


def test_the_filter_hides_and_shows_rows_and_never_changes_the_count(home: Home) -> None:
    write_session(home, "a", issue_ref="github.com/acme/widgets#1")
    write_session(home, "b", issue_ref="github.com/acme/gadgets#2")
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, "a", "b"), [])
    model.take_row_changes()
    show, hide = model.refilter("  GADGETS ", ["a", "b"])
    assert show == [] and hide == ["a"] and model.active == 2
    show, hide = model.refilter("", ["b"])
    assert [key for key, _ in show] == ["a"] and hide == []
    model.filter_text = "widgets"
    model.merge(views(home, "b"), [])
    assert model.take_row_changes() == ([], ["b"])  # a changed row that no longer matches goes away


def test_a_sample_rederives_the_rows_whose_agent_came_or_went(home: Home) -> None:
    write_session(home, "a", state="running", pid=4_000_000, pid_started=1.0)
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, "a"), [])
    model.take_row_changes()
    assert model.watched_processes() == {"a": (4_000_000, 1.0)}
    model.apply_samples({"a": True}, {"a": (12.0, 1024)})
    shown, _ = model.take_row_changes()
    assert [row.alive for _, row in shown if isinstance(row, SessionView)] == [True]
    assert model.stats == {"a": (12.0, 1024)}
    model.apply_samples({"a": True}, {"a": (13.0, 1024)})
    assert not model.has_pending_rows  # nothing came or went: no row to redraw


def test_read_changes_reads_named_files_or_everything_and_reports_the_gone(home: Home) -> None:
    write_session(home, "a")
    fresh, gone = read_changes(home, ["base", "a", "old"], None)
    assert sorted(v.session.name for v in fresh) == ["a", "base"] and gone == ["old"]
    fresh, gone = read_changes(home, [], {"a.json", "vanished.json"})
    assert [v.session.name for v in fresh] == ["a"] and gone == ["vanished"]


def test_queued_items_are_rows_in_queue_order_and_counted(home: Home) -> None:
    first = enqueue(home, "acme/widgets#1", "one").item
    second = enqueue(home, "acme/widgets#2", "two").item
    model = ConsoleModel(Limit(1, "test"))
    model.set_queue(list_items(home))
    assert model.queued == 2 and model.capacity.queued == 2
    shown, _ = model.take_row_changes()
    rows = {key: row for key, row in shown}
    assert rows[f"queue/{first.id}"] == QueueRow(first, 1)
    assert rows[f"queue/{second.id}"] == QueueRow(second, 2)
    model.set_queue(list_items(home))
    assert not model.has_pending_rows  # nothing changed: nothing to redraw
    model.set_queue([i for i in list_items(home) if i.id != first.id])
    shown, hidden = model.take_row_changes()
    assert hidden == [f"queue/{first.id}"] and [r for _, r in shown] == [QueueRow(second, 1)]
    model.filter_text = "widgets#2"
    assert model.matches(model.queue[f"queue/{second.id}"])


def test_work_status_counts_done_sessions_and_redraws_only_changed_rows(home: Home) -> None:
    write_session(home, "a", issue_ref="github.com/acme/widgets#1")
    write_session(home, "b", issue_ref="github.com/acme/widgets#2")
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, "a", "b"), [])
    model.take_row_changes()
    a = model.views["a"].session
    merged = {"state": "merged", "source": "git", "detail": "merged into main", "url": None, "checked_at": "now"}
    model.set_work({"a": {"issue_ref": a.issue_ref, "created_at": a.created_at, "work": merged}})
    assert model.done == 1 and model.capacity.done == 1 and model.work(model.views["a"]).label == "merged"
    assert [key for key, _ in model.take_row_changes().shown] == ["a"]


def test_marks_are_for_dev_sessions_and_go_with_the_session(home: Home) -> None:
    write_session(home, "a")
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, "base", "a"), [])
    assert model.toggle_mark("a") is True and model.toggle_mark("base") is False
    assert [v.session.name for v in model.marked_views()] == ["a"]
    model.merge([], ["a"])
    assert model.marked == set()


def test_undo_restores_the_last_destroy_first_and_a_failed_restore_is_undoable_again() -> None:
    model = ConsoleModel(Limit(3, "test"))
    assert not model.can_undo and model.undo_batch() is None
    model.archived(["a--20240101T000000"], ["a"])
    model.archived(["b--20240102T000000", "c--20240102T000001"], ["b", "c"])  # a batch destroy
    assert model.can_undo
    assert model.undo_batch() == ["b--20240102T000000", "c--20240102T000001"]  # the batch comes back whole
    model.restore_failed(["c--20240102T000001"])  # b came back, c did not (the cap, say)
    assert model.undo_batch() == ["c--20240102T000001"]
    assert model.undo_batch() == ["a--20240101T000000"]
    assert not model.can_undo and model.undo_batch() is None


def test_a_destroy_unmarks_its_sessions_by_name_at_once(home: Home) -> None:
    for n in ("a", "b", "c"):
        write_session(home, n)
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, "a", "b", "c"), [])
    for n in ("a", "b", "c"):
        model.toggle_mark(n)
    model.archived(["entry-1", "entry-2"], ["a", "b"])  # the names come with the ids: none is parsed from an id
    assert model.marked == {"c"} and set(model.views) == {"a", "b", "c"}  # rows stay until the watcher sees them go


def test_a_queued_row_moved_to_the_front_is_first_and_shows_its_true_age(home: Home) -> None:
    from kugetsu_tui.console.rows import queue_cells, sort_key
    from kugetsu_tui.queue.manage import move_to_front
    from tests.unit.queue_fixtures import pending, write_item

    now = time.time()
    for number, hours in ((1, 5), (2, 3)):
        stamp = datetime.fromtimestamp(now - hours * 3600, UTC).astimezone().isoformat(timespec="seconds")
        write_item(home, pending(number, stamp))
    move_to_front(home, "q_2")
    model = ConsoleModel(Limit(1, "test"))
    model.set_queue(list_items(home))
    rows = sorted(model.queue.values(), key=sort_key)
    assert [(row.item.id, row.position) for row in rows] == [("q_2", 1), ("q_1", 2)]
    cells = [queue_cells(row, now) for row in rows]
    assert [(c["state"].plain, c["age"].plain) for c in cells] == [("queued #1", "3h"), ("queued #2", "5h")]


def test_the_sessions_that_need_you_are_those_the_title_counts_and_a_filter_finds(home: Home) -> None:
    from kugetsu_tui.sessions.activities import Activity, ActivityInfo

    write_session(home, "a", issue_ref="github.com/acme/widgets#1")
    write_session(home, "b", issue_ref="github.com/acme/widgets#2")
    model = ConsoleModel(Limit(3, "test"))
    model.merge(views(home, "a", "b"), [])
    model.set_activities(
        {"a": ActivityInfo(Activity.NEEDS_INPUT, "bash: rm -rf build"), "b": ActivityInfo(Activity.BUSY)}
    )
    assert model.needs_you("a") and not model.needs_you("b") and model.attention == 1
    show, hide = model.refilter("needs you", ["a", "b"])
    assert show == [] and hide == ["b"]
    model.set_activities({"a": ActivityInfo(Activity.BUSY)})  # answered: it works again
    assert not model.needs_you("a") and model.attention == 0


def test_idle_holders_over_idle_after_are_counted_for_the_footer(home: Home) -> None:
    now = time.time()
    finished = datetime.fromtimestamp(now - 3 * 3600, UTC).isoformat()
    write_session(home, "github.com-a-b-1", state="idle", finished_at=finished)
    write_session(home, "github.com-a-b-2", state="running")
    write_session(home, "github.com-a-b-3", state="idle", finished_at=datetime.fromtimestamp(now - 60, UTC).isoformat())
    model = ConsoleModel(Limit(3, "test"))
    model.merge([view(read_session(p)) for p in sorted(home.sessions_dir.glob("github.com-*.json"))], [])
    assert model.count_idle(now) is True  # changed from 0
    assert model.idle == 1 and model.capacity.idle == 1
    assert model.count_idle(now) is False
    model.idle_after = 30.0
    model.count_idle(now)
    assert model.idle == 2  # the one idle for a minute too, now


def test_activity_changes_of_dev_sessions_are_kept_for_the_ledger(home: Home) -> None:
    write_session(home, "github.com-a-b-1", state="running")
    model = ConsoleModel(Limit(3, "test"))
    model.merge(
        [view(read_session(home.session_path("github.com-a-b-1"))), view(read_session(home.session_path("base")))], []
    )
    model.set_activities({"github.com-a-b-1": ActivityInfo(Activity.BUSY), "base": ActivityInfo(Activity.BUSY)})
    assert model.activity_changes == []  # the first look is no change
    model.set_activities({"github.com-a-b-1": ActivityInfo(Activity.NEEDS_INPUT), "base": ActivityInfo(Activity.IDLE)})
    model.set_activities({"github.com-a-b-1": ActivityInfo(Activity.NEEDS_INPUT, "another detail")})
    assert model.activity_changes == [("github.com-a-b-1", Activity.NEEDS_INPUT)]  # not the base, not a detail
