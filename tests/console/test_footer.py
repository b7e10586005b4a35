"""The footer at 80 columns: `? Help` and `q Quit` stay in view whatever else it shows."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.messages import ActionDone
from kugetsu_tui.console.session_table import SessionTable
from tests.helpers import Messages, wait_until

DONE = "github.com-acme-widgets-12"


def in_view(app: KugetsuConsole) -> set[str]:
    """The actions of the footer keys drawn whole inside the footer."""
    footer = app.screen.query_one(Footer)
    return {key.action for key in footer.query(FooterKey) if footer.region.contains_region(key.region)}


async def test_help_and_quit_stay_in_an_80_column_footer_after_a_destroy_and_with_a_filter_kept(
    demo_home: Home,
) -> None:
    app = KugetsuConsole(demo_home, sample_processes=False, check_work=False, follow_activity=False)
    messages = Messages()
    async with app.run_test(size=(80, 24), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: len(app.model.views) == 5 and app.query_one(SessionTable).row_count == 5)
        table = app.query_one(SessionTable)
        table.move_cursor(table.row_index(DONE))
        await pilot.press("d", "y")
        await wait_until(pilot, lambda: app.main_screen.can_undo, what="the destroy")
        await wait_until(pilot, lambda: any(m.action == "destroy" for m in messages.of(ActionDone)))
        await wait_until(pilot, lambda: "undo" in {k.action for k in app.screen.query(FooterKey)}, what="u Undo")
        assert {"help", "app.quit"} <= in_view(app)
        await pilot.press("slash", *"widgets", "enter")
        await wait_until(
            pilot, lambda: "clear_filter" in {k.action for k in app.screen.query(FooterKey)}, what="Clear filter"
        )
        assert {"help", "app.quit"} <= in_view(app)
