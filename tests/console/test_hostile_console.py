"""Issue 19 in the console: names that are not UTF-8 and control characters are drawn escaped, work is
checked for them, and a sessions directory that cannot be listed at start-up is said, not a crash."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.messages import UnexpectedError
from tests.helpers import Messages, set_limit, wait_until, write_session

HOSTILE_NAMES = [b"\xff", b"a\x80b", b"\xc3\x28", b"\xed\xa0\x80", b"x\xe2\x80"]
HOSTILE_TEXTS = ["\u202e", "\u2066", "\u200f", "\x1b[31m", "\x9b2J", "\u2028", "\x00", "\r"]


async def test_hostile_names_and_fields_are_drawn_escaped_and_their_work_is_checked(tmp_path: Path) -> None:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.console.details import describe

    home = Home(tmp_path / "home")
    home.ensure()
    set_limit(home, 50)
    names = [os.fsdecode(b"github.com-a-b-" + raw) for raw in HOSTILE_NAMES]
    for number, name in enumerate(names, start=1):
        write_session(home, name, {"type": "forked", "issue_ref": f"github.com/a/b#{number}", "state": "idle"})
    for number, text in enumerate(HOSTILE_TEXTS, start=1):
        fields = {"issue_ref": f"github.com/c/d#{number}{text}", "state": "failed", "error": f"boom{text}"}
        write_session(home, f"github.com-c-d-{number}", {"type": "forked", **fields})
    app = KugetsuConsole(home, sample_processes=False)
    messages = Messages()
    async with app.run_test(size=(200, 40), message_hook=messages) as pilot:
        table = app.main_screen.table
        total = len(names) + len(HOSTILE_TEXTS)
        await wait_until(pilot, lambda: table.row_count == total, what="every row")
        for name in names:
            drawn = " ".join(cell.plain for cell in (table.cells(name) or {}).values())
            assert max(drawn) < "\ud800"  # no surrogate reaches the screen
            assert describe(home, name).plain.startswith(printable(name))  # the details pane names it escaped
        for number, text in enumerate(HOSTILE_TEXTS, start=1):
            drawn = " ".join(cell.plain for cell in (table.cells(f"github.com-c-d-{number}") or {}).values())
            assert text[0] not in drawn and printable(text[0]) in drawn, repr(text)
        await wait_until(pilot, lambda: home.root.joinpath("work.json").exists(), what="work.json")
        assert not messages.of(UnexpectedError)


async def test_a_sessions_directory_that_cannot_be_listed_at_start_up_is_said(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.ensure(home.root)
    set_limit(home, 3)
    loops = {  # where the sessions path points, and a link that points to itself (or None)
        "a symlink loop": (home.sessions_dir, None),
        "a symlink through a loop": (home.root / "x" / "y", home.root / "x"),
    }
    for what, (target, helper) in loops.items():
        for path in (home.sessions_dir, home.root / "x"):
            if os.path.lexists(path):
                path.unlink()
        if helper is not None:
            helper.symlink_to(helper)
        home.sessions_dir.symlink_to(target)
        app = KugetsuConsole(home, sample_processes=False)
        messages = Messages()
        async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
            await wait_until(pilot, _said(messages, "cannot list", str(home.sessions_dir)), what=what)
            assert app.is_running


def _said(messages: Messages, *texts: str) -> Callable[[], bool]:
    return lambda: messages.notified(*texts)
