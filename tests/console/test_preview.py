"""The live preview: state with the full reason, worktree, branch and work, the agent's output as words."""

from __future__ import annotations

import json
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Log, Static

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.preview import SessionPreview
from kugetsu_tui.sessions.files import read_session
from kugetsu_tui.work.states import WorkState
from kugetsu_tui.work.status import WorkStatus, save_work
from tests.helpers import wait_until, write_session

REASON = "agent exited with status 1: " + "the model refused the request because " * 3 + "[bold]end[/bold]"


class PreviewApp(App[None]):
    def __init__(self, home: Home) -> None:
        super().__init__()
        self.home = home

    def compose(self) -> ComposeResult:
        yield SessionPreview(self.home, id="preview")

    def on_mount(self) -> None:
        self.preview.toggle()  # shown, as the main screen's `p` does

    @property
    def preview(self) -> SessionPreview:
        return self.query_one(SessionPreview)


def summary_text(app: PreviewApp) -> str:
    return str(app.preview.query_one("#preview-summary", Static).content)


def log_text(app: PreviewApp) -> list[str]:
    return list(app.preview.query_one(Log).lines)


def append_log(home: Home, name: str, *events: dict[str, object]) -> None:
    home.ensure(home.logs_dir)
    with open(home.log_path(name), "a", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event) + "\n")


def failed_dev(home: Home) -> str:
    name = "github.com-acme-widgets-7"
    write_session(
        home,
        name,
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#7",
            "state": "failed",
            "created_at": "2026-01-01T00:00:00+00:00",
            "error": REASON,
            "worktree_path": str(Path.home() / "src" / "widgets-7"),
            "branch_name": "kugetsu/issue-7",
        },
    )
    return name


async def test_the_preview_shows_the_full_reason_worktree_branch_work_and_output_as_words(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    name = failed_dev(home)
    save_work(
        home,
        [
            (
                read_session(home.session_path(name)),
                WorkStatus(WorkState.MERGED, "forge", "PR #9 merged", "https://x.invalid/9", "2026-01-02T00:00:00Z"),
            )
        ],
    )
    append_log(
        home,
        name,
        {"type": "text", "part": {"text": "I fixed [red]the[/red] bug"}},
        {"type": "tool_use", "part": {"tool": "bash", "state": {"status": "completed"}}},
    )
    app = PreviewApp(home)
    async with app.run_test(size=(120, 30)) as pilot:
        app.preview.session_name = name
        await wait_until(pilot, lambda: "reason:" in summary_text(app) and log_text(app), what="first read")
        summary = summary_text(app)
        assert "github.com/acme/widgets#7  failed" in summary
        assert REASON in summary  # the whole reason, literally, never cut at a column width
        assert "worktree: ~/src/widgets-7" in summary and "branch: kugetsu/issue-7" in summary
        assert "work: PR #9 merged" in summary
        assert log_text(app) == ["I fixed [red]the[/red] bug", "[tool] bash completed"]
        append_log(home, name, {"type": "text", "part": {"text": "and pushed"}})
        await wait_until(pilot, lambda: log_text(app)[-1:] == ["and pushed"], what="the new line")


async def test_switching_sessions_shows_only_the_new_one(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    first = failed_dev(home)
    write_session(
        home,
        "github.com-acme-widgets-8",
        {
            "type": "forked",
            "issue_ref": "github.com/acme/widgets#8",
            "state": "idle",
            "created_at": "2026-01-01T00:00:00+00:00",
        },
    )
    append_log(home, first, {"type": "text", "part": {"text": "first's words"}})
    app = PreviewApp(home)
    async with app.run_test(size=(120, 30)) as pilot:
        app.preview.session_name = first
        await wait_until(pilot, lambda: log_text(app) == ["first's words"], what="first")
        app.preview.session_name = "github.com-acme-widgets-8"
        await wait_until(pilot, lambda: "widgets#8  idle" in summary_text(app), what="second")
        assert log_text(app) == [] and "worktree" not in summary_text(app) and "work:" not in summary_text(app)
        (home.session_path("github.com-acme-widgets-8")).unlink()
        await wait_until(pilot, lambda: "gone" in summary_text(app), what="gone")


async def test_a_hidden_preview_reads_nothing(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    name = failed_dev(home)
    app = PreviewApp(home)
    async with app.run_test(size=(120, 30)) as pilot:
        app.preview.session_name = name
        await wait_until(pilot, lambda: "reason:" in summary_text(app), what="first read")
        assert app.preview.refresh_if_shown()
        app.preview.display = False
        reads = app.preview.reads
        assert not app.preview.refresh_if_shown()
        assert app.preview.reads == reads
        app.preview.display = True
        assert app.preview.refresh_if_shown()
        await pilot.pause()
