"""Launching an agent detached, under our supervisor, in its own session.

subprocess and threading are imported where used: a start refused at capacity needs neither.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from kugetsu_tui.base.home import Home

if TYPE_CHECKING:
    import subprocess


def launch_supervised(home: Home, name: str, run_id: str, argv: list[str], cwd: str) -> subprocess.Popen[bytes]:
    """Start the supervisor (and through it the agent) in its own session, detached from us."""
    import subprocess
    import threading

    command = [
        sys.executable,
        "-m",
        "kugetsu_tui.lifecycle.supervisor",
        "--home",
        str(home.root),
        "--name",
        name,
        "--run-id",
        run_id,
        "--cwd",
        cwd,
    ]
    proc = subprocess.Popen(
        [*command, "--", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    # Reap it when it ends so a long-lived console never collects zombies.
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc
