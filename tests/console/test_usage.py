"""Tokens and cost in the console: read from the server's session list (a stand-in on 127.0.0.1 here), shown in the
preview and the details pane of the session; nothing is shown without a server."""

from __future__ import annotations

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.details import DetailsScreen
from kugetsu_tui.console.preview import SessionPreview
from tests.helpers import wait_until
from tests.unit.opencode_server_fake import Answer, fake_opencode_server

NAME = "github.com-acme-widgets-12"  # static_home's idle dev session
SID = "ses_dev12000000000000000000"
TOKENS = {"input": 2455, "output": 30, "reasoning": 0, "cache": {"read": 100, "write": 5}}


async def test_the_preview_and_the_details_show_the_sessions_tokens_and_cost(static_home: Home) -> None:
    with fake_opencode_server() as fake:
        fake.routes[("GET", "/session/status")] = Answer(body={})
        fake.routes[("GET", "/permission")] = Answer(body=[])
        fake.routes[("GET", "/question")] = Answer(body=[])
        fake.routes[("GET", "/session")] = Answer(body=[{"id": SID, "cost": 0.5, "tokens": TOKENS}])
        text = static_home.config_toml.read_text()
        static_home.config_toml.write_text(text.replace("[agent]\n", f'[agent]\nserver = "{fake.url}"\n', 1))
        app = KugetsuConsole(static_home, check_work=False)
        async with app.run_test(size=(200, 40)) as pilot:
            await wait_until(pilot, lambda: NAME in app.model.usage, what="the usage read")
            table = app.main_screen.table
            assert "tokens" in [c.key for c in table.shown_columns]

            def cell() -> str:
                cells = table.cells(NAME)
                return "" if cells is None else cells["tokens"].plain

            await wait_until(pilot, lambda: cell() == "2.5k", what="the Tokens cell")
            table.move_cursor(table.row_index(NAME))
            await pilot.press("p")
            preview = app.query_one(SessionPreview)
            words = "tokens: 2,455 in · 30 out · cache 100/5 · $0.5000"
            await wait_until(pilot, lambda: words in preview.summary_text, what="the tokens in the preview")
            await pilot.press("p", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen), what="the details")
            screen = app.screen
            assert isinstance(screen, DetailsScreen)
            await wait_until(pilot, lambda: "2,455 in · 30 out" in screen.shown_fields, what="the tokens in details")


def test_the_tokens_column_gives_way_first_on_a_narrow_terminal() -> None:
    from kugetsu_tui.console.session_table import session_columns
    from kugetsu_tui.console.virtual_table import fit_columns

    columns = session_columns(tokens=True)
    everything = next(w for w in range(400, 0, -1) if len(fit_columns(columns, w - 1)) < len(columns))
    dropped = {c.key for c in columns} - {c.key for c in fit_columns(columns, everything - 1)}
    assert dropped == {"tokens"}  # the first to go
    assert "tokens" not in {c.key for c in fit_columns(columns, 80)}
    assert "tokens" not in {c.key for c in session_columns()}  # without a server there is nothing to count


def test_the_tokens_cell_is_compact() -> None:
    from kugetsu_tui.opencode.usage import Usage

    assert [Usage(n, 0, 0, 0, 0, None).compact() for n in (999, 2455, 31_400, 1_250_000)] == [
        "999",
        "2.5k",
        "31k",
        "1.2M",
    ]


async def test_without_a_server_no_tokens_are_shown(static_home: Home) -> None:
    app = KugetsuConsole(static_home, check_work=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_until(pilot, lambda: NAME in app.model.views, what="the rows")
        table = app.main_screen.table
        table.move_cursor(table.row_index(NAME))
        await pilot.press("p")
        preview = app.query_one(SessionPreview)
        await wait_until(pilot, lambda: "idle" in preview.summary_text, what="the preview")
        assert "tokens:" not in preview.summary_text and app.model.usage == {}
        assert "tokens" not in [c.key for c in table.shown_columns]  # nothing to count it: no column
