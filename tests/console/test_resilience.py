"""The console never dies of an error it did not expect: it says so, logs it, and recovers."""

from __future__ import annotations

import threading

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.console import app as console_app
from kugetsu_tui.console import details as console_details
from kugetsu_tui.console import model as console_model
from kugetsu_tui.console.app import ERROR_LOG, KugetsuConsole
from kugetsu_tui.console.details import DetailsScreen, LogLines
from kugetsu_tui.console.messages import UnexpectedError
from kugetsu_tui.opencode.usage import Usage
from tests.helpers import Messages, wait_until, write_session


def loaded(app: KugetsuConsole, count: int):
    return lambda: len(app.model.views) == count and app.main_screen.table.row_count == count


async def test_sessions_directory_replaced_by_a_file_is_survived_and_recovered(static_home: Home) -> None:
    app = KugetsuConsole(static_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        saved = static_home.root / "saved-sessions"
        static_home.sessions_dir.rename(saved)
        static_home.sessions_dir.write_text("not a directory")
        await wait_until(pilot, lambda: messages.notified("not a directory"), what="the notification")
        await wait_until(pilot, loaded(app, 0), what="the rows to go")
        assert app.is_running and app.model.active == 0
        assert not messages.of(UnexpectedError)  # a known condition, not a crash
        static_home.sessions_dir.unlink()
        saved.rename(static_home.sessions_dir)
        await wait_until(pilot, loaded(app, 5), what="the rows to come back")
        assert app.model.active == 3 and app.model.watcher_mode == "inotify"


async def test_an_error_in_the_watcher_is_reported_logged_and_the_watcher_restarted(
    static_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = console_model.read_changes
    calls = []

    def fails_once(*args: object) -> object:
        calls.append(threading.current_thread())
        if len(calls) == 1:
            raise RuntimeError("injected failure")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(console_app, "read_changes", fails_once)
    app = KugetsuConsole(static_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: messages.notified("RuntimeError: injected failure", "keeps running"))
        [error] = messages.of(UnexpectedError)
        assert error.worker_name == "session-watcher"
        log = static_home.logs_dir / ERROR_LOG
        assert "RuntimeError: injected failure" in log.read_text() and "Traceback" in log.read_text()
        await wait_until(pilot, loaded(app, 5), what="the restarted watcher to read the rows")
        assert app.is_running and app.model.active == 3


async def test_an_error_in_the_process_sampler_is_reported_and_the_console_goes_on(
    demo_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_session(
        demo_home,
        "github.com-acme-widgets-30",
        {"type": "forked", "state": "running", "pid": 1, "issue_ref": "github.com/acme/widgets#30"},
    )
    app = KugetsuConsole(demo_home)

    def broken(watched: object, due: object) -> object:
        raise ZeroDivisionError("sampler bug")

    monkeypatch.setattr(app._sampler, "sample", broken)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: messages.notified("ZeroDivisionError: sampler bug"))
        write_session(demo_home, "github.com-acme-widgets-31", {"type": "forked", "state": "idle"})
        await wait_until(pilot, lambda: "github.com-acme-widgets-31" in app.model.views)
        assert app.is_running


async def test_an_error_in_the_activity_reader_is_reported_and_the_console_goes_on(
    static_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kugetsu_tui.opencode.log_activity

    def broken(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("activity bug")

    monkeypatch.setattr(kugetsu_tui.opencode.log_activity, "log_activity", broken)
    app = KugetsuConsole(static_home, sample_processes=False, check_work=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: messages.notified("ZeroDivisionError: activity bug"))
        assert "activity bug" in (static_home.logs_dir / ERROR_LOG).read_text()
        write_session(static_home, "github.com-acme-widgets-31", {"type": "forked", "state": "idle"})
        await wait_until(pilot, lambda: "github.com-acme-widgets-31" in app.model.views)
        looks = app._ticks
        await wait_until(pilot, lambda: app._ticks >= looks + 3, what="more failing looks")
        log = (static_home.logs_dir / ERROR_LOG).read_text()
        assert log.count("unexpected error in activity reader") == 1  # the same error is not reported each 2 s
        assert app.is_running


async def test_an_error_in_an_action_worker_is_reported_and_the_console_goes_on(
    demo_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kugetsu_tui.lifecycle.start

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("start bug")

    monkeypatch.setattr(kugetsu_tui.lifecycle.start, "start_session", broken)
    app = KugetsuConsole(demo_home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app, 5))
        await pilot.press("s", *"acme/widgets#60", "tab", *"go", "enter")
        await wait_until(pilot, lambda: messages.notified("KeyError: 'start bug'"))
        assert [m.worker_name for m in messages.of(UnexpectedError)] == ["actions"]
        await pilot.press("slash", *"widgets-12", "enter")
        await wait_until(pilot, lambda: app.main_screen.table.row_count == 1, what="the filter: keys still work")
        assert app.is_running


async def test_the_details_pane_reads_files_off_the_event_loop(
    static_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    readers = []
    real = console_details.describe

    def recording(home: Home, name: str, usage: Usage | None = None) -> object:
        readers.append(threading.current_thread())
        return real(home, name, usage)

    monkeypatch.setattr(console_details, "describe", recording)
    static_home.ensure(static_home.logs_dir)
    static_home.log_path("github.com-acme-widgets-12").write_text('{"type":"text","part":{"text":"hello"}}\n')
    app = KugetsuConsole(static_home, sample_processes=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, loaded(app, 5))
        app.main_screen.table.move_cursor(row=2)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen) and len(readers) >= 3)
        screen = app.screen
        assert isinstance(screen, DetailsScreen)
        assert "hello" in "\n".join(str(line) for line in screen.query_one(LogLines).lines)
        assert readers and all(t is not threading.main_thread() for t in readers)
