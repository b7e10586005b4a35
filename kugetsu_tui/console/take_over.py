"""The main screen's review keys: `t` take over in opencode's TUI, `e` $VISUAL/$EDITOR and `!` $SHELL
in the worktree, `v` the diff screen.

The first three make way for another program on this terminal (Textual's `App.suspend`): the console
first says how to come back and gives the operator a moment to read it, then runs the program; when it
exits the console is back at once, redrawn, with one line on what happened. Each key is refused with its
reason in one notification: no worktree, an agent running without a server (two writers), no editor.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.text import printable
from kugetsu_tui.lifecycle import take_over as core
from kugetsu_tui.opencode.steps import agent_env
from kugetsu_tui.sessions.files import KIND_DEV
from kugetsu_tui.worktrees.diff import worktree_record

if TYPE_CHECKING:
    from kugetsu_tui.console.main_screen import MainScreen
    from kugetsu_tui.sessions.overview import SessionView
    from kugetsu_tui.worktrees.saved_work import WorktreeRecord

#: Seconds the "how to come back" notice is on screen before the console makes way.
NOTICE_SECONDS = 1.0
REFUSALS = (KugetsuError, OSError)


def refuse(screen: MainScreen, words: str) -> None:
    screen.notify(printable(words), title="Refused", severity="warning", timeout=10, markup=False)


def take_over(screen: MainScreen) -> None:
    """`t`: opencode's TUI on the selected session; base and PM after a confirmation."""
    view = screen.selected()
    if view is None:
        return
    name = view.session.name
    if view.session.kind == KIND_DEV:
        _prepare(screen, name)
        return
    from kugetsu_tui.console.dialogs import ConfirmDialog
    from kugetsu_tui.lifecycle.archive import special_kind

    def answer(yes: bool | None) -> None:
        if yes:
            _prepare(screen, name)

    screen.app.push_screen(
        ConfirmDialog(
            f"Take over {special_kind(view.session)}?",
            "opencode's TUI opens on it; what you type there is sent to it. Press y to confirm.",
            danger=True,
            enter_confirms=False,
        ),
        answer,
    )


def _prepare(screen: MainScreen, name: str) -> None:
    """Find the command in a thread (it may ask opencode for the session's directory once), then run it."""

    def prepare() -> None:
        try:
            prepared = core.prepare(screen.home, name)
        except REFUSALS as exc:
            screen.app.call_from_thread(refuse, screen, str(exc))
            return
        screen.app.call_from_thread(
            _make_way, screen, prepared.plan.how_to_return(), lambda: _run_tui(screen, prepared)
        )

    screen.run_worker(prepare, thread=True, group="take-over", exclusive=True, exit_on_error=False)


def _run_tui(screen: MainScreen, prepared: core.Prepared) -> str:
    status, changed = core.run(screen.home, prepared)
    return changed + (f" (opencode exited with status {status})" if status else "")


def open_editor(screen: MainScreen) -> None:
    """`e`: $VISUAL, else $EDITOR, on the worktree's directory."""
    found = _worktree_of(screen, "open an editor for")
    if found is None:
        return
    view, record = found
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or ""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        refuse(screen, f"cannot open an editor: $VISUAL/$EDITOR {command!r} does not parse ({exc})")
        return
    if not argv:
        refuse(screen, "cannot open an editor: neither $VISUAL nor $EDITOR is set")
        return
    _run_program(screen, view, record, [*argv, "."], f"quit {argv[0]} to come back to kugetsu-tui")


def open_shell(screen: MainScreen) -> None:
    """`!`: $SHELL (else /bin/sh) in the worktree."""
    found = _worktree_of(screen, "open a shell for")
    if found is not None:
        view, record = found
        shell = os.environ.get("SHELL") or "/bin/sh"
        _run_program(screen, view, record, [shell], "exit the shell (exit, or ctrl+d) to come back to kugetsu-tui")


def view_diff(screen: MainScreen) -> None:
    """`v`: the diff screen of the selected session's worktree."""
    found = _worktree_of(screen, "show the diff of")
    if found is not None:
        from kugetsu_tui.console.diff_screen import DiffScreen

        view, record = found
        screen.app.push_screen(DiffScreen(record, view.session.issue_ref or view.session.name))


def _worktree_of(screen: MainScreen, doing: str) -> tuple[SessionView, WorktreeRecord] | None:
    view = screen.selected()
    if view is None:
        return None
    try:
        if view.session.corrupt:
            raise KugetsuError(f"its file is unusable ({view.session.error})")
        return view, worktree_record(dict(view.session.data))
    except REFUSALS as exc:
        refuse(screen, f"cannot {doing} {view.session.name}: {exc}")
        return None


def _run_program(screen: MainScreen, view: SessionView, record: WorktreeRecord, argv: list[str], how: str) -> None:
    name = view.session.name

    def run() -> str:
        try:
            status = subprocess.run(argv, cwd=record.path, env=agent_env(str(record.path))).returncode
        except OSError as exc:
            raise KugetsuError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
        return f"back from {argv[0]} in {name}" + (f" (it exited with status {status})" if status else "")

    _make_way(screen, how, run)


def _make_way(screen: MainScreen, how: str, run: Callable[[], str]) -> None:
    """Say how to come back, wait a moment for it to be read, then suspend the console around `run`."""
    screen.notify(printable(how), title="Making way", timeout=NOTICE_SECONDS + 2, markup=False)

    def suspended() -> None:
        app = screen.app
        try:
            with app.suspend():
                print(f"kugetsu-tui: {how}", flush=True)
                said = run()
        except SuspendNotSupported:
            refuse(screen, "this terminal cannot hand itself to another program (Textual cannot suspend here)")
            return
        except REFUSALS as exc:
            refuse(screen, str(exc))
            return
        finally:
            app.refresh(layout=True)
        screen.notify(printable(said), timeout=15, markup=False)
        screen.sessions_changed()

    screen.set_timer(NOTICE_SECONDS, suspended)
