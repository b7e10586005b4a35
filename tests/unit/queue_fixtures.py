"""Queue items as kugetsu writes them (one pretty-printed JSON object per file in queue/items/)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any, Self

from kugetsu_tui.base.home import Home
from tests.helpers import PY, cli_env, read_json, run_cli, wait_for

#: a pending item as kugetsu's `queue add` writes it (kugetsu #140)
KUGETSU_PENDING = {
    "id": "q_1743264970_4821",
    "issue_ref": "github.com/shoko/kugetsu#150",
    "message": "Fix the flaky test",
    "state": "pending",
    "pending_since": "2026-03-29T18:16:10+02:00",
    "notified_at": None,
    "completed_at": None,
    "error": None,
}
#: handed to kugetsu's PM agent by its daemon, with the fields kugetsu #141 adds
KUGETSU_NOTIFIED = {
    "id": "q_1743264000_1170",
    "issue_ref": "github.com/shoko/kugetsu#147",
    "message": "Add the queue",
    "state": "notified",
    "pending_since": "2026-03-29T17:59:50+02:00",
    "notified_at": "2026-03-29T18:00:02+02:00",
    "completed_at": None,
    "error": None,
    "opencode_session_id": "ses_2b7f9c1e0a",
    "pid": 48211,
    "fork_pid": 48230,
}
KUGETSU_COMPLETED = {
    "id": "q_1743263000_0042",
    "issue_ref": "github.com/shoko/kugetsu#140",
    "message": "Queue daemon",
    "state": "completed",
    "pending_since": "2026-03-29T17:43:20+02:00",
    "notified_at": "2026-03-29T17:43:25+02:00",
    "completed_at": "2026-03-29T17:55:00+02:00",
    "error": None,
}
KUGETSU_ERROR = {
    "id": "q_1743262000_0007",
    "issue_ref": "github.com/shoko/kugetsu#139",
    "message": "Retry me",
    "state": "error",
    "pending_since": "2026-03-29T17:26:40+02:00",
    "notified_at": None,
    "completed_at": None,
    "error": "kugetsu start failed 3 times",
}


def write_item(home: Home, data: Any, name: str | None = None) -> Path:
    """Write queue/items/<id>.json the way kugetsu does (jq-style, two-space indent); bytes as they are."""
    home.queue_items_dir.mkdir(parents=True, exist_ok=True)
    path = home.queue_items_dir / f"{name or data['id']}.json"
    path.write_bytes(data if isinstance(data, bytes) else (json.dumps(data, indent=2) + "\n").encode())
    return path


def pending(number: int, since: str, **fields: Any) -> dict[str, Any]:
    """A kugetsu pending item for github.com/shoko/kugetsu#<number>."""
    return {
        **KUGETSU_PENDING,
        "id": f"q_{number}",
        "issue_ref": f"github.com/shoko/kugetsu#{number}",
        "message": f"work on #{number}",
        "pending_since": since,
        **fields,
    }


def item_data(home: Home, item_id: str) -> dict[str, Any]:
    data: dict[str, Any] = read_json(home.queue_items_dir / f"{item_id}.json")
    return data


def queue_json(home: Home, *args: str) -> dict[str, Any]:
    result = run_cli(home, "queue", "ls", "--json", *args)
    assert result.returncode == 0, result.stderr
    listing: dict[str, Any] = json.loads(result.stdout)
    return listing


class Watcher:
    """A `queue drain --watch` process whose output goes to a file the test reads."""

    def __init__(self, home: Home, tmp_path: Path, env: dict[str, str], label: str = "watch") -> None:
        self.out = tmp_path / f"{label}.out"
        self.err = tmp_path / f"{label}.err"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [PY, "-m", "kugetsu_tui", "queue", "drain", "--watch"],
                env=cli_env(home, env),
                cwd=home.root.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    def output(self) -> str:
        return self.out.read_text()

    def wait_ready(self) -> None:
        wait_for(
            lambda: "draining" in self.output() or self.proc.poll() is not None,
            timeout=30,
            message="the watcher to be ready",
        )
        assert self.proc.poll() is None, self.err.read_text()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        return self.proc.wait(timeout=60)
