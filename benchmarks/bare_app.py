"""The peer for the start-up benchmark: a bare Textual app with one DataTable and a Footer."""

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer


class Bare(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("status")
        table.add_row("BARE-READY")


if __name__ == "__main__":
    Bare().run()
