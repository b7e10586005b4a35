"""Thousands of sessions load a piece at a time, the top of the table first, and the table ends whole."""

from __future__ import annotations

import json
from pathlib import Path

from kugetsu_tui.base.home import Home
from kugetsu_tui.console import main_screen
from kugetsu_tui.console.app import KugetsuConsole
from tests.helpers import wait_until

COUNT = 2_500


def many_sessions(root: Path) -> Home:
    home = Home(root)
    home.ensure(home.root, home.sessions_dir)
    for n in range(COUNT):
        created = f"2026-01-02T{n // 3600:02}:{n // 60 % 60:02}:{n % 60:02}+00:00"
        data = {"type": "forked", "issue_ref": f"github.com/acme/widgets#{n}", "created_at": created, "state": "idle"}
        (home.sessions_dir / f"github.com-acme-widgets-{n}.json").write_text(json.dumps(data))
    return home


async def test_many_sessions_are_drawn_a_piece_at_a_time_from_the_top(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(main_screen, "ROWS_PER_FRAME", 1_000)
    pieces: list[int] = []
    app = KugetsuConsole(many_sessions(tmp_path / "home"), sample_processes=False, check_work=False)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.main_screen.table
        apply = table.apply

        def counted(upserts, removals) -> None:
            upserts = list(upserts)
            pieces.append(len(upserts))
            apply(upserts, removals)

        monkeypatch.setattr(table, "apply", counted)
        await wait_until(pilot, lambda: table.row_count == COUNT, what="every row")
        assert max(pieces) <= 1_000 and len([p for p in pieces if p]) >= 3
        assert table.selected_key == "github.com-acme-widgets-0" and table.scroll_y == 0  # the oldest, on top
        assert table.shown_keys[:3] == [f"github.com-acme-widgets-{n}" for n in range(3)]
