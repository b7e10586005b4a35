"""The console driven through Textual's Pilot, as an operator would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.notifications import Notify
from textual.widgets import Input, Static

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.capacity import CapacityBar
from kugetsu_tui.console.details import DetailsScreen, LogLines
from kugetsu_tui.console.dialogs import ConfirmDialog, MessageDialog, StartDialog
from kugetsu_tui.console.messages import ActionDone, ActionRefused, UnexpectedError
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.lifecycle.archive import list_archive
from kugetsu_tui.sessions.limit import resolve_limit
from tests.helpers import FIXED_NOW, Messages, screen_lines, set_limit, wait_until, write_session


def capacity_text(app: KugetsuConsole) -> str:
    return str(app.query_one(CapacityBar).content)


def start_binding(app: KugetsuConsole):
    return app.screen.active_bindings["s"]


def dev(ref_number: int, **extra) -> dict:
    return {
        "type": "forked",
        "issue_ref": f"github.com/acme/widgets#{ref_number}",
        "opencode_session_id": f"ses_{ref_number}",
        "created_at": f"2026-01-01T00:00:{ref_number:02d}+00:00",
        "state": "idle",
        **extra,
    }


def loaded(app: KugetsuConsole, count: int):
    return lambda: len(app.model.views) == count and app.query_one(SessionTable).row_count == count


async def test_rows_are_base_pm_then_dev_in_creation_order(static_home: Home) -> None:
    app = KugetsuConsole(static_home, clock=lambda: FIXED_NOW, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        keys = [table.key_at(i) for i in range(table.row_count)]
        assert keys == [
            "base",
            "pm-agent",
            "github.com-acme-widgets-12",
            "github.com-acme-widgets-15",
            "github.com-acme-widgets-16",
        ]
        assert "3/3" in capacity_text(app)  # the corrupt file holds a slot too
        state = (table.cells("github.com-acme-widgets-16") or {})["state"].plain
        assert state.startswith("corrupt: invalid JSON")


async def test_footer_count_follows_files_written_and_deleted_by_another_process(static_home: Home) -> None:
    set_limit(static_home, 10)
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        assert "3/10" in capacity_text(app)
        path = static_home.session_path("github.com-other-repo-7")
        writer = f"import json,sys; open(sys.argv[1],'w').write(json.dumps({dev(7)!r}))"
        subprocess.run([sys.executable, "-c", writer, str(path)], check=True)
        await wait_until(pilot, lambda: "4/10" in capacity_text(app))
        subprocess.run([sys.executable, "-c", "import os,sys; os.unlink(sys.argv[1])", str(path)], check=True)
        await wait_until(pilot, lambda: "3/10" in capacity_text(app))
        # A file with any name counts; hidden temp files never do.
        (static_home.sessions_dir / ".tmp-x.json.123.tmp").write_text("{}")
        write_session(static_home, "issue-99", b"not json")
        await wait_until(pilot, lambda: "4/10" in capacity_text(app))
        assert app.model.active == 4


async def test_start_disabled_exactly_at_capacity_and_enabled_after_destroy(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        assert start_binding(app).enabled is False
        await pilot.press("s")
        await pilot.pause()
        # At capacity s offers to queue the work instead of starting it; the dialog says why, no toast over it.
        dialog = app.screen
        assert isinstance(dialog, StartDialog) and dialog.queue_because
        assert "maximum concurrent agents (3) reached" in dialog.queue_because
        assert not messages.of(Notify)
        await pilot.press("escape")
        assert "full" in capacity_text(app)
        static_home.session_path("github.com-acme-widgets-12").unlink()
        await wait_until(pilot, lambda: app.model.active == 2)
        assert start_binding(app).enabled is True
        assert "last slot" in capacity_text(app)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, StartDialog) and app.screen.queue_because is None


async def test_start_from_the_dialog_creates_a_session_through_the_core(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("s")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, StartDialog)
        assert dialog.focused is dialog.query_one("#ref", Input)
        await pilot.press(*"not a ref")
        await pilot.pause()
        assert "invalid issue ref" in str(dialog.query_one("#ref-error", Static).content)
        await pilot.press(*["backspace"] * 9, *"acme/widgets#40", "tab")
        assert dialog.focused is dialog.query_one("#message", Input)
        await pilot.press(*"fix it", "enter")
        await wait_until(pilot, lambda: "github.com-acme-widgets-40" in app.model.views)
        data = json.loads(demo_home.session_path("github.com-acme-widgets-40").read_text())
        assert data["issue_ref"] == "github.com/acme/widgets#40"
        await wait_until(
            pilot, lambda: any("started github.com/acme/widgets#40" in m.text for m in messages.of(ActionDone))
        )
        # The cursor follows the new session, wherever its row lands.
        await wait_until(
            pilot,
            lambda: app.query_one(SessionTable).selected_name == "github.com-acme-widgets-40",
            what="the cursor on the new session",
        )


async def test_a_slot_taken_while_the_dialog_is_open_is_the_cores_refusal_not_a_crash(demo_home: Home) -> None:
    set_limit(demo_home, 4)
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, StartDialog)
        write_session(demo_home, "github.com-acme-widgets-50", dev(50))  # someone takes the last slot
        await wait_until(pilot, lambda: app.model.active == 4)
        await pilot.press(*"acme/widgets#42", "tab", *"fix it", "enter")
        await wait_until(pilot, lambda: messages.of(ActionRefused), what="the refusal")
        [refused] = messages.of(ActionRefused)
        assert refused.action == "start" and refused.at_capacity
        assert "maximum concurrent agents (4) reached" in refused.text
        [shown] = [n.notification for n in messages.of(Notify) if n.notification.message == refused.text]
        assert shown.title == "Refused" and shown.severity == "warning"
        assert not messages.of(UnexpectedError) and not messages.of(ActionDone)
        assert not demo_home.session_path("github.com-acme-widgets-42").exists()


async def test_escape_cancels_the_start_dialog_and_writes_nothing(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        before = sorted(os.listdir(demo_home.sessions_dir))
        await pilot.press("s", *"acme/widgets#41", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, StartDialog)
        assert sorted(os.listdir(demo_home.sessions_dir)) == before


async def test_command_palette_start_hits_the_cores_check(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        app.main_screen.action_start()  # what the palette's "Start a dev session" calls
        await pilot.pause()
        assert not isinstance(app.screen, StartDialog)
        assert messages.notified("maximum concurrent agents (3) reached")


async def test_invalid_limit_is_shown_and_start_refused(static_home: Home) -> None:
    set_limit(static_home, 0)
    app = KugetsuConsole(static_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        assert "limit invalid" in capacity_text(app)
        assert start_binding(app).enabled is False
        await pilot.press("s")
        await pilot.pause()
        assert messages.notified("invalid limit '0'")


async def test_cursor_stays_on_its_session_when_rows_change_above_it(static_home: Home) -> None:
    set_limit(static_home, 10)
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        await pilot.press("down", "down", "down")
        assert table.selected_name == "github.com-acme-widgets-15"
        static_home.session_path("github.com-acme-widgets-12").unlink()
        await wait_until(pilot, loaded(app, 4))
        assert table.selected_name == "github.com-acme-widgets-15"
        # An older session restored above it (created earlier) is sorted in above the cursor.
        write_session(static_home, "github.com-acme-widgets-3", dev(3))
        await wait_until(pilot, loaded(app, 5))
        assert table.row_index("github.com-acme-widgets-3") < table.row_index("github.com-acme-widgets-15")
        assert table.selected_name == "github.com-acme-widgets-15"


@pytest.mark.parametrize(
    "hostile", ["[b]bold[/b]", "[/oops]", "[link=https://evil.example]click[/link]", "\x1b[31mred\x1b[0m"]
)
async def test_hostile_text_is_rendered_literally(static_home: Home, hostile: str) -> None:
    write_session(static_home, "github.com-acme-widgets-12", dev(12, issue_ref=hostile, state=hostile))
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        cells = table.cells("github.com-acme-widgets-12")
        assert cells is not None
        cell = cells["ref"]
        expected = hostile.replace("\x1b", "\\x1b")
        assert expected.startswith(cell.plain.rstrip("…"))  # long text is clipped, never interpreted
        assert not cell.spans  # no markup was applied
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailsScreen)
        await wait_until(pilot, lambda: expected in screen.shown_fields)
        await pilot.pause()
        assert any(expected in line for line in screen_lines(app))  # drawn as written, not as markup


async def test_destroy_asks_then_archives_and_undo_restores(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index("github.com-acme-widgets-12"))
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        body = app.screen.body
        assert "transcript is exported" in body and "archive" in body
        await pilot.press("n")
        await pilot.pause()
        assert demo_home.session_path("github.com-acme-widgets-12").exists()
        await pilot.press("d", "y")
        await wait_until(pilot, lambda: "github.com-acme-widgets-12" not in app.model.views)
        assert [e.session_name for e in list_archive(demo_home)] == ["github.com-acme-widgets-12"]
        assert app.model.active == 2
        # Toasts name the session by its ref, as the table and the dialog do, not by its file name.
        await wait_until(pilot, lambda: [m.text for m in messages.of(ActionDone) if m.action == "destroy"] != [])
        destroyed = [m.text for m in messages.of(ActionDone) if m.action == "destroy"]
        assert destroyed == ["destroyed github.com/acme/widgets#12: archived (u to undo)"]
        await pilot.press("u")
        # The row is back as soon as the slot is taken (state restoring); the undo is done after the import.
        await wait_until(
            pilot,
            lambda: (
                [m.text for m in messages.of(ActionDone) if m.action == "restore"]
                == ["restored github.com/acme/widgets#12"]
            ),
        )
        assert "github.com-acme-widgets-12" in app.model.views and app.model.active == 3
        assert list_archive(demo_home) == []


async def test_undo_at_capacity_is_refused_with_the_cap_message(demo_home: Home) -> None:
    set_limit(demo_home, 3)
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index("github.com-acme-widgets-12"))
        await pilot.press("d", "y")
        await wait_until(pilot, lambda: app.model.active == 2)
        write_session(demo_home, "github.com-acme-widgets-50", dev(50))  # someone takes the slot
        await wait_until(pilot, lambda: app.model.active == 3)
        await pilot.press("u")
        await wait_until(
            pilot,
            lambda: any(
                m.at_capacity and "maximum concurrent agents (3) reached" in m.text for m in messages.of(ActionRefused)
            ),
        )
        assert [e.session_name for e in list_archive(demo_home)] == ["github.com-acme-widgets-12"]
        assert app.model.can_undo  # still undoable once a slot frees


async def test_base_needs_a_second_confirmation(demo_home: Home) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("d", "y")  # the cursor starts on base
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and "BASE" in app.screen.title_text
        await pilot.press("n")
        await pilot.pause()
        assert demo_home.session_path("base").exists()
        await pilot.press("d", "enter", "enter")  # Enter twice is not a deliberate yes
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and demo_home.session_path("base").exists()
        await pilot.press("y")
        await wait_until(pilot, lambda: "base" not in app.model.views)


async def test_a_session_gone_while_the_continue_dialog_is_open_is_a_failure_not_a_capacity_refusal(
    demo_home: Home,
) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index("github.com-acme-widgets-12"))
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, MessageDialog)
        demo_home.session_path("github.com-acme-widgets-12").unlink()  # destroyed elsewhere meanwhile
        await pilot.press(*"add tests", "enter")
        await wait_until(pilot, lambda: messages.of(ActionRefused), what="the refusal")
        [refused] = messages.of(ActionRefused)
        assert refused.action == "continue" and not refused.at_capacity
        assert "no session 'github.com-acme-widgets-12'" in refused.text
        [shown] = [n.notification for n in messages.of(Notify) if n.notification.message == refused.text]
        assert shown.title == "Failed" and shown.severity == "error"


async def test_continue_at_capacity_sends_the_message(demo_home: Home) -> None:
    set_limit(demo_home, 3)
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        assert "full" in capacity_text(app)
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index("github.com-acme-widgets-12"))
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, MessageDialog)
        await pilot.press(*"add tests", "enter")
        await wait_until(
            pilot, lambda: any(m.text == "continued github.com/acme/widgets#12" for m in messages.of(ActionDone))
        )
        log = demo_home.log_path("github.com-acme-widgets-12")
        await wait_until(pilot, lambda: log.exists() and "step_finish" in log.read_text())


async def test_filter_shows_matching_rows_and_escape_clears(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        await pilot.press("slash", *"failed")
        await pilot.pause()
        assert table.shown_names == ["github.com-acme-widgets-15"]
        assert app.model.active == 3  # filtering never changes the count
        await pilot.press("enter")
        assert table.has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == 5


async def test_details_pane_follows_the_log(static_home: Home) -> None:
    log = static_home.log_path("github.com-acme-widgets-12")
    log.write_text('{"type":"text","sessionID":"ses_dev12"}\n')
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("down", "down", "space")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailsScreen)
        await wait_until(pilot, lambda: "ses_dev12000000000000000000" in screen.shown_fields)
        widget = screen.query_one(LogLines)
        await wait_until(pilot, lambda: any("ses_dev12" in line for line in widget.lines))
        with log.open("a") as handle:
            handle.write("a new line from the agent\n")
            handle.write('{"type": "text", "part": {"text": "the words of the agent"}}\n')
        await wait_until(pilot, lambda: "the words of the agent" in widget.lines)
        assert any("a new line from the agent" in line for line in widget.lines)
        await pilot.press("r")  # raw: the JSON events as written
        await wait_until(pilot, lambda: any(line.startswith('{"type": "text"') for line in widget.lines))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailsScreen)


async def test_plus_and_minus_persist_the_limit(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("plus", "plus")
        assert resolve_limit(static_home).value == 5
        assert "3/5" in capacity_text(app)
        await pilot.press("minus")
        assert resolve_limit(static_home).value == 4
        assert "agent" in static_home.config_toml.read_text()  # the [agent] table survived


async def test_missing_sessions_directory_is_waited_for(tmp_path: Path) -> None:
    home = Home(tmp_path / "not-yet")
    app = KugetsuConsole(home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: "waiting for" in capacity_text(app))
        home.sessions_dir.mkdir(parents=True)
        write_session(home, "github.com-acme-widgets-1", dev(1))
        await wait_until(pilot, lambda: app.model.active == 1 and "1/3" in capacity_text(app))
        # Deleted and recreated: recovered, and its new content shown.
        for path in home.sessions_dir.iterdir():
            path.unlink()
        home.sessions_dir.rmdir()
        await wait_until(pilot, lambda: app.model.active == 0)
        home.sessions_dir.mkdir()
        write_session(home, "github.com-acme-widgets-2", dev(2))
        write_session(home, "github.com-acme-widgets-3", dev(3))
        await wait_until(pilot, lambda: app.model.active == 2)


async def test_polling_fallback_is_announced(static_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from kugetsu_tui.sessions import watch

    def no_inotify(path):
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watch, "DirectoryWatch", no_inotify)
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: "polling" in capacity_text(app))
        static_home.session_path("github.com-acme-widgets-12").unlink()
        await wait_until(pilot, lambda: app.model.active == 2)


async def test_usable_at_80x24(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        bar = app.query_one(CapacityBar)
        assert bar.region.y == 23 and bar.region.width > 0
        assert app.query_one(SessionTable).region.height >= 10
        await pilot.resize_terminal(60, 15)
        await pilot.pause()
        assert app.query_one(CapacityBar).region.y == 14


async def test_row_keys_are_enabled_once_rows_exist(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.sessions_dir.mkdir(parents=True)
    app = KugetsuConsole(home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: app.model.watcher_mode == "inotify")
        assert app.screen.active_bindings["d"].enabled is False  # nothing to destroy
        write_session(home, "github.com-acme-widgets-1", dev(1))
        await wait_until(pilot, loaded(app, 1))
        await pilot.pause()
        assert app.screen.active_bindings["d"].enabled is True
        assert app.screen.active_bindings["c"].enabled is True


async def test_home_and_end_move_the_cursor_to_the_first_and_last_row(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        table = app.query_one(SessionTable)
        await pilot.press("end")
        assert table.selected_name == "github.com-acme-widgets-16"
        await pilot.press("home")
        assert table.selected_name == "base"


async def test_lowering_the_limit_below_the_active_count_says_what_it_means(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("minus")
        assert resolve_limit(static_home).value == 2
        assert messages.notified("3 dev sessions already exist", "2 of them")
        await pilot.press("minus", "minus")
        assert resolve_limit(static_home).value == 1
        assert messages.notified("already 1")


def test_details_show_kugetsus_fields_first_and_our_own_apart_with_times_as_times(static_home: Home) -> None:
    import time

    from kugetsu_tui.console.details import describe

    started = 1_795_000_000.5
    write_session(
        static_home,
        "github.com-acme-widgets-12",
        dev(12, starter_pid=4242, starter_started=started, log=str(static_home.log_path("x"))),
    )
    text = describe(static_home, "github.com-acme-widgets-12").plain
    ours = text.index("kugetsu-tui's own fields")
    assert text.index("issue_ref") < ours < text.index("starter_pid")
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) in text and "1795000000.5" not in text
    assert "logs/x.log" in text and str(static_home.root) not in text


async def test_p_shows_the_selected_sessions_preview_beside_the_table_and_follows_the_cursor(static_home: Home) -> None:
    from kugetsu_tui.console.preview import SessionPreview

    app = KugetsuConsole(static_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        preview = app.query_one(SessionPreview)
        assert not preview.display or not preview.has_class("shown")
        app.query_one(SessionTable).move_cursor(3)
        await pilot.press("p")
        await pilot.pause()
        assert preview.has_class("shown") and preview.session_name == "github.com-acme-widgets-15"
        await pilot.press("up")
        await pilot.pause()
        assert preview.session_name == "github.com-acme-widgets-12"
        await pilot.press("p")
        assert not preview.has_class("shown")


@pytest.mark.parametrize(("size", "below"), [((80, 24), True), ((120, 32), True), ((160, 40), False)])
async def test_the_preview_goes_below_the_table_when_beside_it_the_key_columns_would_not_fit(
    static_home: Home, size: tuple[int, int], below: bool
) -> None:
    from kugetsu_tui.console.preview import SessionPreview

    app = KugetsuConsole(static_home, sample_processes=False, check_work=False, follow_activity=False)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("p")
        await pilot.pause()
        table, preview = app.query_one(SessionTable), app.query_one(SessionPreview)
        if below:
            assert preview.region.y >= table.region.bottom and preview.region.width == table.region.width
        else:
            assert preview.region.x >= table.region.right and preview.region.y == table.region.y
        assert {"kind", "ref", "state", "work", "age"} <= {column.key for column in table.shown_columns}


async def test_a_hidden_preview_wakes_nothing(static_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview's twice-a-second refresh runs only while it is shown (the idle budget)."""
    from kugetsu_tui.console.preview import REFRESH_INTERVAL, SessionPreview

    ticks: list[bool] = []
    real = SessionPreview.refresh_if_shown

    def counted(self: SessionPreview) -> bool:
        ticks.append(True)
        return real(self)

    monkeypatch.setattr(SessionPreview, "refresh_if_shown", counted)
    app = KugetsuConsole(static_home, sample_processes=False, check_work=False, follow_activity=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.pause()
        before = len(ticks)  # a new selection asks once, whether shown or not
        await pilot.pause(3 * REFRESH_INTERVAL)
        assert len(ticks) == before
        await pilot.press("p")
        await wait_until(pilot, lambda: len(ticks) >= before + 3, what="the shown preview's refreshes")
        await pilot.press("p")
        await pilot.pause()
        hidden_at = len(ticks)
        await pilot.pause(3 * REFRESH_INTERVAL)
        assert len(ticks) == hidden_at


async def test_question_mark_opens_our_help_with_every_key_and_state(static_home: Home) -> None:
    from kugetsu_tui.console.help_screen import HelpScreen, key_rows, state_rows

    app = KugetsuConsole(static_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = {key: what for key, what in key_rows(app.main_screen)}
        for key in ("D", "m", "p", "w", "o"):
            assert key in keys, sorted(keys)
        assert {text.plain for text, _ in state_rows()} >= {"timeout", "corrupt", "restoring"}
        assert next(iter(keys)) == "?"  # the screen's own keys first, in the footer's order
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
