"""What each agent is doing, in the console: the Activity column, attention, and the title."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from textual.notifications import Notify

from kugetsu_tui.attention.notifier import attention_notice
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import start_time
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from tests.helpers import Messages, wait_until, write_session

NAME = "github.com-acme-widgets-30"


def mark_cell(app: KugetsuConsole) -> str:
    cells = app.query_one(SessionTable).cells(NAME)
    return "" if cells is None else cells["mark"].plain


def activity_cell(app: KugetsuConsole) -> str:
    cells = app.query_one(SessionTable).cells(NAME)
    return "" if cells is None else cells["activity"].plain


async def test_a_silent_agent_is_stalled_then_busy_again_and_stalling_asks_for_the_operator_once(
    static_home: Home,
) -> None:
    with open(static_home.config_toml, "a") as config:
        config.write("\n[console]\nbell = true\n")
    text = static_home.config_toml.read_text().replace("[agent]\n", "[agent]\nstall_after = 30\n", 1)
    static_home.config_toml.write_text(text)
    log = static_home.log_path(NAME)
    static_home.ensure(static_home.logs_dir)
    log.write_text('{"type":"text","part":{"text":"thinking"}}\n')
    old = time.time() - 120
    os.utime(log, (old, old))
    # A running agent: this test's own process, recorded with its start time (so it counts as alive).
    write_session(
        static_home,
        NAME,
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#30",
            "state": "running",
            "pid": os.getpid(),
            "pid_started": start_time(os.getpid()),
            "log": str(log),
            "opencode_session_id": "ses_30",
        },
    )
    app = KugetsuConsole(static_home, check_work=False)
    rang: list[bool] = []
    app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
    messages = Messages()
    async with app.run_test(size=(160, 30), message_hook=messages) as pilot:
        await wait_until(
            pilot, lambda: activity_cell(app).startswith("stalled: silent for 2m"), what="the stalled activity"
        )
        assert app.title == "kugetsu-tui (2 need you)"  # this one, and the failed #15
        assert mark_cell(app) == "!"  # the row the title counts says so
        os.utime(log)  # the agent speaks again
        await wait_until(pilot, lambda: activity_cell(app).startswith("busy: output "), what="busy again")
        assert app.title == "kugetsu-tui (1 needs you)"
        await wait_until(pilot, lambda: mark_cell(app) == "", what="the row's needs-you mark gone")
        os.utime(log, (old, old))
        await wait_until(pilot, lambda: messages.notified("silent for"), what="the attention notification")
        [notice] = [n.notification for n in messages.of(Notify) if "silent for" in n.notification.message]
        assert notice.title == "github.com/acme/widgets#30 stalled"  # by its ref, as its row shows it
        assert rang == [True]  # [console] bell = true
        await pilot.press("slash", *"stalled")
        await wait_until(pilot, lambda: app.query_one(SessionTable).shown_names == [NAME], what="filter by activity")


@pytest.mark.parametrize(
    ("activity", "title"),
    [
        (Activity.NEEDS_INPUT, "acme/widgets#7 needs input"),
        (Activity.DENIED, "acme/widgets#7 was denied a permission"),
        (Activity.STALLED, "acme/widgets#7 stalled"),
        (Activity.ERROR, "acme/widgets#7 hit an error"),
        (Activity.IDLE, "acme/widgets#7 finished"),
    ],
)
def test_the_notification_says_what_happened_not_that_it_wants_you(activity: Activity, title: str) -> None:
    said, text = attention_notice("acme/widgets#7", ActivityInfo(activity))
    assert said == title and text and "wants you" not in said + text
    assert attention_notice("acme/widgets#7", ActivityInfo(activity, "bash: rm -rf build"))[1] == "bash: rm -rf build"


async def test_a_busy_the_agents_exit_contradicts_shows_the_recorded_end_and_asks_the_server_afresh(
    static_home: Home,
) -> None:
    """A stand-in server keeps saying busy (opencode #35472) for a session whose agent exited: the row shows the
    recorded end with the server's claim in the detail, and the follower reconnects once for a fresh snapshot."""
    import subprocess
    import sys

    from tests.unit.opencode_server_fake import Answer, fake_opencode_server

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    write_session(
        static_home,
        NAME,
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#30",
            "state": "idle",
            "pid": int(dead.stdout),
            "opencode_session_id": "ses_30",
        },
    )
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = Answer(body={"ses_30": {"type": "busy"}})
        fake.routes[("GET", "/permission")] = Answer(body=[])
        fake.routes[("GET", "/question")] = Answer(body=[])
        text = static_home.config_toml.read_text()
        static_home.config_toml.write_text(text.replace("[agent]\n", f'[agent]\nserver = "{fake.url}"\n', 1))
        app = KugetsuConsole(static_home, check_work=False)

        def connections() -> int:
            return sum(1 for r in list(fake.requests) if r.path == "/global/event")

        async with app.run_test(size=(200, 30)) as pilot:
            shown = lambda: app.model.activity.get(NAME) or ActivityInfo(Activity.UNKNOWN)  # noqa: E731
            await wait_until(pilot, lambda: "still says busy" in shown().detail, what="the contradicted busy")
            assert shown().state == Activity.IDLE and activity_cell(app) == ""  # the row is not shown busy
            assert app.tracker is not None and app.tracker.activity("ses_30").state == Activity.BUSY
            await wait_until(pilot, lambda: connections() == 2, what="one fresh snapshot")
            await pilot.pause(1.0)
            assert connections() == 2  # the server's own status stays stale: it is not asked again and again


NOTIFY_SEND = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["NOTIFY_RECORD"], "a") as out:
    out.write(json.dumps(sys.argv[1:]) + "\\n")
"""


@pytest.mark.parametrize("by", ["console", "drain"])
async def test_the_console_notifies_the_desktop_and_terminal_but_not_for_the_selected_session(
    static_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    import json

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "notify-send").write_text(NOTIFY_SEND)
    (bin_dir / "notify-send").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    record = tmp_path / "notify-send.jsonl"
    monkeypatch.setenv("NOTIFY_RECORD", str(record))

    def desktop() -> list[list[str]]:
        return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []

    text = static_home.config_toml.read_text().replace("[agent]\n", "[agent]\nstall_after = 30\n", 1)
    static_home.config_toml.write_text(f'{text}\n[notify]\nby = "{by}"\n')
    log = static_home.log_path(NAME)
    static_home.ensure(static_home.logs_dir)
    log.write_text('{"type":"text","part":{"text":"thinking"}}\n')
    old = time.time() - 120
    os.utime(log, (old, old))
    write_session(
        static_home,
        NAME,
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#30",
            "state": "running",
            "pid": os.getpid(),
            "pid_started": start_time(os.getpid()),
            "log": str(log),
            "opencode_session_id": "ses_30",
        },
    )
    app = KugetsuConsole(static_home, check_work=False)
    written: list[str] = []
    app.write_to_terminal = written.append  # type: ignore[method-assign,assignment]
    messages = Messages()
    async with app.run_test(size=(160, 30), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: activity_cell(app).startswith("stalled"), what="stalled at first sight")
        os.utime(log)  # busy again
        await wait_until(pilot, lambda: activity_cell(app).startswith("busy"), what="busy again")
        os.utime(log, (old, old))  # and stalled: one transition
        await wait_until(pilot, lambda: messages.notified("silent for"), what="the notice in the console")
        if by == "drain":  # the drainer notifies: the console only shows its notice
            await pilot.pause(0.5)
            assert desktop() == [] and written == []
            return
        await wait_until(pilot, lambda: desktop(), what="the desktop notification")
        [argv] = desktop()
        assert argv[-2] == "github.com/acme/widgets#30 stalled" and "silent for" in argv[-1]
        assert len(written) == 1 and written[0].startswith("\x1b]777;notify;github.com/acme/widgets#30 stalled;")

        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(NAME))  # the operator looks at it: its next transition is quiet
        os.utime(log)
        await wait_until(pilot, lambda: activity_cell(app).startswith("busy"), what="busy once more")
        os.utime(log, (old, old))
        await wait_until(pilot, lambda: activity_cell(app).startswith("stalled"), what="stalled once more")
        await pilot.pause(0.5)
        assert len(desktop()) == 1 and len(written) == 1
