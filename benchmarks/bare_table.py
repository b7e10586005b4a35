"""The peer for the load benchmark: a bare DataTable app that reads every session file of a home and shows
them as rows, in creation order (as the console does): `python -m benchmarks.bare_table HOME`."""

import json
import os
import sys

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer

COLUMNS = ("kind", "issue", "state", "created", "pid", "opencode id")


class BareTable(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, sessions_dir: str) -> None:
        super().__init__()
        self.sessions_dir = sessions_dir

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        rows = []
        for name in os.listdir(self.sessions_dir):
            if name.endswith(".json") and not name.startswith("."):
                with open(os.path.join(self.sessions_dir, name), "rb") as handle:
                    data = json.loads(handle.read())
                state = f"{data.get('state')}: {data['error']}" if data.get("error") else str(data.get("state"))
                created = str(data.get("created_at", ""))
                rows.append(
                    (created, name, data.get("type", ""), data.get("issue_ref") or name[:-5], state, created)
                    + (str(data.get("pid", "")), str(data.get("opencode_session_id", "")))
                )
        rows.sort()
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        table.add_rows(row[2:] for row in rows)
        table.focus()


if __name__ == "__main__":
    BareTable(os.path.join(sys.argv[1], "sessions")).run()
