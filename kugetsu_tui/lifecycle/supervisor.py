"""The small process that stays with an agent for its whole life.

`opencode run` returns when the agent is done, long after `kugetsu-tui start` has exited, so
something of ours must be there to record the outcome. The supervisor runs the agent as its
child, copies its output to the session log, records the opencode session id from the first
JSON event that carries one, and writes the final state (idle or failed, with the exit status).
Every write is guarded by the launch's run id, so a late write never touches a session that was
destroyed or relaunched in the meantime.

Run as: python -m kugetsu_tui.lifecycle.supervisor --home H --name N --run-id R --cwd D -- ARGV...
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from typing import Any

from kugetsu_tui.base.home import FILE_MODE, Home
from kugetsu_tui.base.process import start_time
from kugetsu_tui.opencode.events import session_id_from_line
from kugetsu_tui.opencode.steps import agent_env
from kugetsu_tui.sessions.activities import Activity
from kugetsu_tui.sessions.files import KIND_DEV, kind_for_filename, now_iso, update_session
from kugetsu_tui.sessions.ledger import Event, record_counted
from kugetsu_tui.sessions.states import State


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


#: The activity each state the supervisor writes means, for the slot ledger.
ACTIVITY_OF: dict[object, Activity] = {
    State.RUNNING: Activity.BUSY,
    State.IDLE: Activity.IDLE,
    State.FAILED: Activity.ERROR,
}


def supervise(home: Home, name: str, run_id: str, argv: list[str], cwd: str) -> int:
    def record(**fields: Any) -> bool:
        def apply(data: dict[str, Any]) -> None:
            data.update(fields)
            activity = ACTIVITY_OF.get(fields.get("state"))
            if activity is not None and kind_for_filename(f"{name}.json") == KIND_DEV:
                record_counted(home, Event.ACTIVITY_CHANGED, name, activity=str(activity))  # under the lock

        return update_session(home, name, apply, run_id=run_id) is not None

    # Claim the launch before starting anything: if the session was destroyed or relaunched
    # meanwhile, no agent is started and no log is written.
    if not record(supervisor_pid=os.getpid(), supervisor_started=start_time(os.getpid())):
        return 1
    home.ensure(home.logs_dir)
    log_fd = os.open(home.log_path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, FILE_MODE)
    log = os.fdopen(log_fd, "ab", buffering=0)

    try:
        child = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, cwd=cwd, env=agent_env(cwd)
        )
    except OSError as exc:
        message = f"cannot run {argv[0]!r}: {exc.strerror or exc}"
        log.write(f"kugetsu-tui: {message}\n".encode())
        record(state=State.FAILED, exit_code=127, finished_at=now_iso(), error=message)
        return 127

    # Stopping the supervisor stops the agent with it.
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if not record(
        state=State.RUNNING,
        pid=child.pid,
        pid_started=start_time(child.pid),
        supervisor_pid=os.getpid(),
        supervisor_started=start_time(os.getpid()),
        error=None,
    ):
        child.terminate()
        child.wait()
        return 1

    session_id_seen = False
    assert child.stdout is not None
    for line in child.stdout:
        log.write(line)
        if not session_id_seen:
            sid = session_id_from_line(line)
            if sid:
                session_id_seen = True
                # The first event proves the agent is at work; start and continue wait for it.
                record(opencode_session_id=sid, first_event_at=now_iso())
    code = child.wait()
    if code == 0:
        record(state=State.IDLE, exit_code=0, finished_at=now_iso())
    else:
        record(state=State.FAILED, exit_code=code, finished_at=now_iso(), error=describe_exit(code))
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kugetsu_tui.lifecycle.supervisor")
    parser.add_argument("--home", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--cwd", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no agent command given")
    return supervise(Home.locate(args.home), args.name, args.run_id, command, args.cwd)


if __name__ == "__main__":
    sys.exit(main())
