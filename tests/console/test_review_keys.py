"""The review keys (Pilot): `v` the diff screen, `t` take over, `e` editor, `!` shell, and their refusals.

Headless, Textual cannot suspend: the suspension is recorded by a stand-in `App.suspend`, and the programs
run are stand-ins on PATH that record how they were run. The real opencode TUI in a real terminal is
tests/opencode/test_take_over_real_opencode.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import start_time
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.diff_screen import DiffScreen, PatchView
from kugetsu_tui.console.session_table import SessionTable
from kugetsu_tui.worktrees.diff import Section
from tests.helpers import PY, Messages, wait_until

WITH_WORKTREE = "github.com-acme-widgets-15"  # the demo's failed session: one commit, one uncommitted change
WITHOUT_WORKTREE = "github.com-acme-widgets-12"  # its branch was merged and has no worktree
BIG = 50_000

RECORDER = f"""#!{sys.executable}
import json, os, sys
if sys.argv[1:] == ["--version"]:  # opencode's version check
    print("1.18.33")
    sys.exit(0)
with open(os.environ["RECORD"], "a") as out:
    out.write(json.dumps({{"program": os.path.basename(sys.argv[0]), "argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
"""


@pytest.fixture
def programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-ins for opencode, an editor and a shell on PATH; each appends how it ran to the record."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("opencode", "my-editor", "my-shell"):
        (bin_dir / name).write_text(RECORDER)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RECORD", str(tmp_path / "record.jsonl"))
    monkeypatch.setenv("EDITOR", "my-editor --wait")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("SHELL", str(bin_dir / "my-shell"))
    monkeypatch.setattr("kugetsu_tui.console.take_over.NOTICE_SECONDS", 0.05)
    return tmp_path / "record.jsonl"


def ran(record: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def loaded(app: KugetsuConsole):
    return lambda: WITH_WORKTREE in app.model.views and app.main_screen.table.row_count >= 5


async def select(pilot, app: KugetsuConsole, name: str) -> None:
    table = app.query_one(SessionTable)
    table.move_cursor(table.row_index(name))
    await pilot.pause()


def suspensions(app: KugetsuConsole, said_first: Messages | None = None, notice: str = "") -> list[str]:
    """Stand in for App.suspend (headless cannot suspend): each suspension is recorded, and with
    `said_first`, whether `notice` had been shown by then."""
    seen: list[str] = []

    @contextmanager
    def suspend() -> Iterator[None]:
        if said_first is not None:
            seen.append(f"notice shown: {said_first.notified(notice)}")
        seen.append("suspended")
        yield
        seen.append("resumed")

    app.suspend = suspend  # type: ignore[method-assign]
    return seen


async def open_diff(pilot, app: KugetsuConsole) -> DiffScreen:
    """`v` on the session with a worktree: its diff screen, once the diff is read."""
    await select(pilot, app, WITH_WORKTREE)
    await pilot.press("v")
    await wait_until(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.diff is not None)
    screen = app.screen
    assert isinstance(screen, DiffScreen)
    return screen


def worktree(home: Home) -> Path:
    return Path(json.loads(home.session_path(WITH_WORKTREE).read_text())["worktree_path"])


async def test_v_shows_the_files_with_gits_counts_and_a_patch_when_selected(demo_home: Home) -> None:
    (worktree(demo_home) / "notes.txt").write_text("one\ntwo\n")
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_until(pilot, loaded(app))
        screen = await open_diff(pilot, app)
        assert screen.diff is not None
        prompts = [str(option.prompt) for option in screen.query_one(OptionList).options]
        assert [p for p in prompts if p.startswith(("committed", "uncommitted", "untracked"))] == [
            "committed (1)",
            "uncommitted (1)",
            "untracked (1)",
        ]
        assert any("+2 -0" in p and "widget.py" in p for p in prompts)
        assert any("+1 -1" in p and "modified" in p and "README.md" in p for p in prompts)
        view = screen.query_one(PatchView)
        await wait_until(pilot, lambda: view.lines, what="the first file's patch")
        expected = subprocess.run(
            ["git", "diff", screen.diff.merge_base, "HEAD", "--", "widget.py"],
            cwd=worktree(demo_home),
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        assert view.lines == expected
        await pilot.press("down")  # the next file is loaded when it is highlighted
        await wait_until(pilot, lambda: "+Work in progress." in view.lines, what="README.md's patch")
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)


async def test_a_50000_line_patch_draws_only_the_lines_on_screen(demo_home: Home) -> None:
    (worktree(demo_home) / "big.txt").write_text("".join(f"line {i}\n" for i in range(BIG)))
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_until(pilot, loaded(app))
        screen = await open_diff(pilot, app)
        assert screen.diff is not None
        files = screen.query_one(OptionList)
        index = next(i for i, o in enumerate(files.options) if "big.txt" in str(o.prompt))
        view = screen.query_one(PatchView)
        await wait_until(pilot, lambda: view.lines, what="the first file's patch")
        await pilot.pause()
        view.lines_rendered = 0  # count the big patch's lines only
        files.highlighted = index
        await wait_until(pilot, lambda: len(view.lines) == BIG + 6, what="the big patch")
        await pilot.pause()
        assert view.lines_rendered <= view.size.height + 2
        view.focus()
        await pilot.press("end")
        await pilot.pause()
        assert view.lines[-1] == f"+line {BIG - 1}"
        # the first screen, again once restyled by the focus, the last one: never the 50,000 between
        assert view.lines_rendered <= 3 * (view.size.height + 2)


async def test_binary_files_are_summarised(demo_home: Home) -> None:
    logo = b"\x89PNG\0\0\0\rIHDR"
    (worktree(demo_home) / "logo.png").write_bytes(logo)
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_until(pilot, loaded(app))
        screen = await open_diff(pilot, app)
        assert screen.diff is not None
        untracked = screen.diff.section(Section.UNTRACKED)
        assert [c.path for c in untracked] == ["logo.png"] and untracked[0].binary
        files = screen.query_one(OptionList)
        files.highlighted = next(i for i, o in enumerate(files.options) if "logo.png" in str(o.prompt))
        view = screen.query_one(PatchView)
        await wait_until(pilot, lambda: view.summary, what="the summary")
        assert view.lines == [f"binary file, added: {len(logo)} bytes"]


@pytest.mark.parametrize("key", ["v", "e", "exclamation_mark", "t"])
async def test_each_key_is_refused_with_the_reason_without_a_worktree(
    demo_home: Home, programs: Path, key: str
) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    messages = Messages()
    seen = suspensions(app)
    async with app.run_test(size=(120, 32), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app))
        await select(pilot, app, "github.com-acme-widgets-16")  # corrupt: no worktree, no session id
        await pilot.press(key)
        await wait_until(pilot, lambda: messages.notified("github.com-acme-widgets-16", "unusable"))
        await select(pilot, app, WITHOUT_WORKTREE)
        if key != "t":  # t needs no worktree: it takes over the session wherever it runs
            await pilot.press(key)
            await wait_until(pilot, lambda: messages.notified(WITHOUT_WORKTREE, "has no worktree"))
        await pilot.pause(0.2)
        assert not isinstance(app.screen, DiffScreen)
    assert seen == [] and ran(programs) == []


async def test_t_is_refused_while_the_agent_runs_without_a_server(demo_home: Home, programs: Path) -> None:
    agent = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])
    try:
        path = demo_home.session_path(WITH_WORKTREE)
        data = json.loads(path.read_text())
        data.update(state="running", pid=agent.pid, pid_started=start_time(agent.pid))
        path.write_text(json.dumps(data))
        app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
        messages = Messages()
        seen = suspensions(app)
        async with app.run_test(size=(120, 32), message_hook=messages) as pilot:
            await wait_until(pilot, loaded(app))
            await select(pilot, app, WITH_WORKTREE)
            await pilot.press("t")
            await wait_until(pilot, lambda: messages.notified("its agent is running", "second writer"))
            await pilot.pause(0.2)
        assert seen == [] and ran(programs) == []
    finally:
        agent.kill()
        agent.wait()


async def test_t_says_how_to_come_back_then_runs_the_tui_and_says_what_changed(demo_home: Home, programs: Path) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    messages = Messages()
    seen = suspensions(app, messages, "quit opencode")
    async with app.run_test(size=(120, 32), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app))
        await select(pilot, app, WITH_WORKTREE)
        await pilot.press("t")
        await wait_until(pilot, lambda: messages.notified(f"nothing changed in {WITH_WORKTREE} meanwhile"))
        assert seen == ["notice shown: True", "suspended", "resumed"]  # how to come back, said before suspending
    (tui,) = ran(programs)
    session = json.loads(demo_home.session_path(WITH_WORKTREE).read_text())
    assert tui["program"] == "opencode"
    assert tui["argv"] == [session["cwd"], "--session", session["opencode_session_id"]]
    assert tui["cwd"] == session["cwd"]


async def test_t_on_base_asks_first(demo_home: Home, programs: Path) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    messages = Messages()
    suspensions(app)
    async with app.run_test(size=(120, 32), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app))
        await select(pilot, app, "base")
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause(0.3)
        assert ran(programs) == []
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: ran(programs), what="the TUI on base")
    base = json.loads(demo_home.session_path("base").read_text())
    assert ran(programs)[0]["argv"][1:] == ["--session", base["opencode_session_id"]]


async def test_e_and_bang_run_in_the_worktree(demo_home: Home, programs: Path) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    messages = Messages()
    seen = suspensions(app)
    async with app.run_test(size=(120, 32), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app))
        await select(pilot, app, WITH_WORKTREE)
        await pilot.press("e")
        await wait_until(pilot, lambda: messages.notified("back from my-editor"))
        await pilot.press("exclamation_mark")
        await wait_until(pilot, lambda: messages.notified("back from"), what="the shell")
        await wait_until(pilot, lambda: len(ran(programs)) == 2)
    editor, shell = ran(programs)
    where = str(worktree(demo_home))
    assert editor == {"program": "my-editor", "argv": ["--wait", "."], "cwd": where}
    assert shell["program"] == "my-shell" and shell["cwd"] == where
    assert seen == ["suspended", "resumed"] * 2


async def test_e_without_an_editor_says_so(demo_home: Home, programs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDITOR")
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    messages = Messages()
    async with app.run_test(size=(120, 32), message_hook=messages) as pilot:
        await wait_until(pilot, loaded(app))
        await select(pilot, app, WITH_WORKTREE)
        await pilot.press("e")
        await wait_until(pilot, lambda: messages.notified("neither $VISUAL nor $EDITOR is set"))
    assert ran(programs) == []


def test_the_preview_shows_the_diffs_size(demo_home: Home) -> None:
    from kugetsu_tui.console.preview import summary

    (worktree(demo_home) / "notes.txt").write_text("one\ntwo\n")
    assert "\ndiff: 3 files, +5 -1, 2 uncommitted" in summary(demo_home, WITH_WORKTREE).plain
    assert "diff:" not in summary(demo_home, WITHOUT_WORKTREE).plain


async def test_the_destroy_and_clean_up_confirmations_say_what_the_worktree_holds(
    demo_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that nothing unsaved is destroyed unseen: the diff's size, read off the UI thread (when the row is
    selected, for `d`; by the clean-up's own worker for `D`)."""
    from kugetsu_tui.console.dialogs import ConfirmDialog
    from kugetsu_tui.lifecycle import prune
    from kugetsu_tui.worktrees import diff

    data = json.loads(demo_home.session_path(WITH_WORKTREE).read_text())
    size = diff.diff_size(data, max_age=0)
    assert size and "uncommitted" in size
    diff._SIZES.clear()  # nothing read yet: selecting the row must read it
    real_plan = prune.plan_prune

    def with_the_worktree_session_done(home: Home) -> prune.PrunePlan:
        plan = real_plan(home)
        (done,) = plan.done  # the demo's merged #12, which has no worktree
        session = app.model.views[WITH_WORKTREE].session
        return prune.PrunePlan([done, prune.Finished(session, done.work)], plan.skipped)

    monkeypatch.setattr(prune, "plan_prune", with_the_worktree_session_done)
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, loaded(app))
        await select(pilot, app, WITH_WORKTREE)
        await wait_until(pilot, lambda: diff.cached_diff_size(data) == size, what="the selected row's diff size")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the destroy confirmation")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and f"(diff: {size})" in dialog.body
        await pilot.press("n")
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the clean-up confirmation")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        lines = dialog.body.splitlines()
        assert any("#15" in line and f"diff: {size} (archived)" in line for line in lines), lines
        assert not any("#12" in line and "diff:" in line for line in lines), lines
        await pilot.press("n")
