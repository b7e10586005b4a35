"""Taking a session over in opencode's TUI, for the CLI (`attach`) and the console (`t`).

`prepare` finds the session and the command (opencode/attach.py) or refuses in one line; `run` runs the
TUI on this terminal and says afterwards what changed meanwhile. Without a server, the session's
operation lock (lifecycle/journal.py) is held while the TUI runs and the agent is checked again under
it, so no `continue` can launch a second writer beside the TUI (it is refused as busy); with a server,
the server is the one writer and a continue may run while attached.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import NamedTuple

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import is_alive
from kugetsu_tui.lifecycle.journal import acquire
from kugetsu_tui.lifecycle.start import find_session
from kugetsu_tui.opencode.attach import TakeOver, take_over_plan
from kugetsu_tui.opencode.settings import load_agent_config
from kugetsu_tui.sessions.files import Session, read_session
from kugetsu_tui.worktrees.diff import Totals, read_diff, worktree_record


class Snapshot(NamedTuple):
    """What a take-over may change: the recorded state, the worktree's HEAD and the diff's size."""

    state: str
    head: str | None
    totals: Totals | None


class Prepared(NamedTuple):
    session: Session
    plan: TakeOver
    before: Snapshot


def agent_running(session: Session) -> bool:
    return not session.corrupt and is_alive(session.pid, session.data.get("pid_started"))


def prepare(home: Home, target: str) -> Prepared:
    """The session and its take-over command; a KugetsuError (one line) when it cannot be taken over."""
    session = find_session(home, target)
    plan = take_over_plan(home, session, agent_running=agent_running(session), config=load_agent_config(home))
    return Prepared(session, plan, snapshot(session))


def run(home: Home, prepared: Prepared) -> tuple[int, str]:
    """Run the TUI in the foreground on this terminal; its exit status and one line on what changed."""
    import subprocess

    plan, name = prepared.plan, prepared.session.name
    journal = acquire(home, name, "take over") if plan.server is None else None
    try:
        if journal is not None and agent_running(read_session(prepared.session.path)):
            raise KugetsuError(f"cannot take over {name}: its agent started meanwhile (two writers on one session)")
        # ctrl+c is the TUI's: we wait for it. A handler, unlike SIG_IGN, is not inherited by the TUI.
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, _ignore) if main else None
        try:
            status = subprocess.run(plan.argv, cwd=plan.cwd, env=plan.env()).returncode
        except OSError as exc:
            raise KugetsuError(f"cannot run {plan.argv[0]!r}: {exc.strerror or exc}") from None
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
    finally:
        if journal is not None:
            journal.release()
    try:
        after = snapshot(read_session(prepared.session.path))
    except FileNotFoundError:
        return status, f"{name} is gone: its session file was removed meanwhile"
    return status, changes(name, prepared.before, after)


def snapshot(session: Session) -> Snapshot:
    state = str(session.recorded_state)
    try:
        diff = read_diff(worktree_record(dict(session.data)))
    except (KugetsuError, OSError):  # no worktree (base, PM, worktrees off) or one git cannot read
        return Snapshot(state, None, None)
    return Snapshot(state, diff.head, diff.totals())


def changes(name: str, before: Snapshot, after: Snapshot) -> str:
    """`meanwhile in NAME: state idle → running; new HEAD 1a2b3c4d; diff now 3 files, +12 -4, 1 uncommitted`."""
    said = []
    if before.state != after.state:
        said.append(f"state {before.state} → {after.state}")
    if before.head != after.head and after.head:
        said.append(f"new HEAD {after.head[:8]}")
    if before.totals != after.totals and after.totals is not None:
        said.append(f"diff now {after.totals.describe()}")
    return f"meanwhile in {name}: {'; '.join(said)}" if said else f"nothing changed in {name} meanwhile"


def _ignore(signum: int, frame: FrameType | None) -> None:
    """SIGINT while the TUI runs is the TUI's to handle; we wait for it to exit."""
