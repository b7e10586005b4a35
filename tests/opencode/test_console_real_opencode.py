"""The console's keys driving the real opencode: start, the cap, continue, destroy and undo.

The console runs in this process (Textual's Pilot) with the isolated opencode environment, in
the opencode project that holds the base session, as an operator's console would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.dialogs import ConfirmDialog, MessageDialog, StartDialog
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.lifecycle.archive import list_archive
from kugetsu_tui.sessions.limit import save_limit
from tests.helpers import Messages, wait_until

from .harness import OpenCode, write_kugetsu_home

pytestmark = pytest.mark.opencode

NAME = "github.com-acme-console-1"
AGENT_WAIT = 60.0


@pytest.fixture
def console_env(opencode_env: dict[str, str], opencode_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process takes opencode's isolated environment and runs in its project."""
    for key in list(os.environ):
        if key not in opencode_env:
            monkeypatch.delenv(key)
    for key, value in opencode_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(opencode_project)
    monkeypatch.setenv("PWD", str(opencode_project))


def session(home: Home) -> dict:
    try:
        return json.loads(home.session_path(NAME).read_text())
    except FileNotFoundError:
        return {}


async def test_start_continue_destroy_and_undo_from_the_keyboard(
    console_env: None, opencode: OpenCode, base_session: str, tmp_path: Path
) -> None:
    home = Home(write_kugetsu_home(tmp_path / "kugetsu", base_session))
    save_limit(home, 1)
    app = KugetsuConsole(home)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: "base" in app.model.views, 10, "the base row")

        # Start through the dialog: a real fork of the base session.
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, StartDialog)
        await pilot.press(*"acme/console#1", "tab", *"write the changelog", "enter")
        await wait_until(
            pilot,
            lambda: session(home).get("state") == "idle" and session(home).get("opencode_session_id"),
            timeout=AGENT_WAIT,
            what="the forked agent to finish",
        )
        sid = session(home)["opencode_session_id"]
        assert sid != base_session and sid in opencode.session_ids()
        await wait_until(pilot, lambda: app.model.active == 1, 5, "the footer count")

        # At the limit: s opens the queue dialog, which says the core's refusal; Escape writes nothing.
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, StartDialog) and app.screen.queue_because
        assert "maximum concurrent agents (1) reached" in app.screen.queue_because  # the dialog says it...
        assert not messages.notified("maximum concurrent agents")  # ...and no toast covers it
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, StartDialog) and app.model.active == 1

        # Continue the selected session at capacity: the transcript grows.
        before = opencode.message_count(sid)
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(NAME))
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, MessageDialog)
        await pilot.press(*"and the docs", "enter")
        await wait_until(
            pilot,
            lambda: (
                session(home).get("state") == "idle"
                and session(home).get("run_id")
                and opencode.message_count(sid) > before
            ),
            timeout=AGENT_WAIT,
            what="the continued agent to finish",
        )

        # Destroy: transcript exported into the archive, the opencode session deleted.
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: not home.session_path(NAME).exists(), AGENT_WAIT, "the destroy")
        [entry] = list_archive(home)
        assert json.loads((entry.path / "export.json").read_text())["info"]["id"] == sid
        # The session file goes first (the slot is freed), the opencode session after it: wait for the end.
        await wait_until(pilot, lambda: not home.journal_dir.exists(), AGENT_WAIT, "the destroy to finish")
        assert sid not in opencode.session_ids()
        await wait_until(pilot, lambda: app.model.active == 0, 5, "the slot to free")

        # Undo: imported back into opencode with the same id, the file back in place.
        await pilot.press("u")
        await wait_until(
            pilot, lambda: home.session_path(NAME).exists() and not list_archive(home), AGENT_WAIT, "the undo"
        )
        assert session(home)["opencode_session_id"] == sid
        assert sid in opencode.session_ids()
