"""The widths the table lays out by agree with the cells it later builds (rows are built lazily)."""

from __future__ import annotations

from pathlib import Path

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.model import ConsoleModel, ParkedRow, QueueRow, Row
from kugetsu_tui.console.rows import growing_widths, row_cells
from kugetsu_tui.queue.items import QueueItem
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.files import read_session
from kugetsu_tui.sessions.limit import Limit
from kugetsu_tui.sessions.overview import parked_view, view
from tests.helpers import write_session


def test_growing_widths_are_the_widths_of_the_cells_built_later(tmp_path: Path) -> None:
    home = Home(tmp_path)
    write_session(home, "github.com-a-b-1")
    write_session(home, "github.com-a-b-2", {"type": "forked", "state": "failed", "error": "exit status 1 — ünïcode"})
    write_session(home, "github.com-a-b-3", b"{not json")
    write_session(home, "github.com-a-b-4")
    model = ConsoleModel(Limit(3, "default", "default"))
    model.merge([view(read_session(p)) for p in sorted(home.sessions_dir.iterdir())], [])
    model.activity["github.com-a-b-1"] = ActivityInfo(Activity.NEEDS_INPUT, "edit src/app.py 全角")
    model.activity["github.com-a-b-2"] = ActivityInfo(Activity.BUSY, "hidden: the state says why")
    model.destroying.add("github.com-a-b-4")
    item = QueueItem("q1", tmp_path / "q1.json", {"issue_ref": "github.com/a/b#9", "state": "error", "failure": "x"})
    rows: list[Row] = [
        *model.views.values(),
        QueueRow(item, None),
        QueueRow(item._replace(data={"state": "pending"}), 2),
        ParkedRow(parked_view(read_session(home.session_path("github.com-a-b-1")))),
        ParkedRow(parked_view(read_session(home.session_path("github.com-a-b-3")))),  # corrupt: its reason
    ]
    for row in rows:
        cells = row_cells(row, model, 0.0)
        widths = growing_widths(row, model)
        assert widths == {key: cells[key].cell_len for key in widths}, row
        assert widths.keys() >= {"state"}
