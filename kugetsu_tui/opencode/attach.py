"""Taking a session over in opencode's own TUI: the command, its directory, or why not.

Checked against opencode-ai 1.18.33 (`opencode attach --help`, `opencode --help`):

- with `[agent] server`: `opencode attach URL --dir DIR --session ID`. The TUI then talks to the
  server the agent runs in, so the console's status feed and permission answers keep working, and
  the agent may be running: the server is the one writer.
- without: `opencode DIR --session ID`, which starts a server of its own inside the TUI. While the
  session's agent (`opencode run`) is running that would be two writers on one session: refused.
- never `-c`/`--continue`: it resumes the newest session of the directory, possibly a sibling's.

The password of a protected server is never put on the command line (where `ps` shows it):
`opencode attach` reads `OPENCODE_SERVER_PASSWORD` (and `OPENCODE_SERVER_USERNAME`) from the
environment it inherits, which we pass on untouched.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.refs import session_id_problem
from kugetsu_tui.opencode.directories import learn_directory, run_directory
from kugetsu_tui.opencode.settings import AgentConfig
from kugetsu_tui.opencode.steps import agent_env, require_program
from kugetsu_tui.sessions.files import Session

PROGRAM = "opencode"


class TakeOver(NamedTuple):
    """How to run opencode's TUI on one session: `argv` in `cwd`, with `env`."""

    argv: list[str]
    cwd: str
    session_id: str
    server: str | None  # the server attached to; None: the TUI runs its own

    def env(self) -> dict[str, str]:
        return agent_env(self.cwd)  # PWD too: opencode reads its directory from $PWD

    def how_to_return(self) -> str:
        """What to tell the operator before the console makes way for the TUI."""
        return "quit opencode (ctrl+c, or /exit) to come back to kugetsu-tui"


def take_over_plan(home: Home, session: Session, *, agent_running: bool, config: AgentConfig) -> TakeOver:
    """The take-over command for `session`, or a KugetsuError saying in one line why there is none."""
    what = f"cannot take over {session.name}"
    if session.corrupt:
        raise KugetsuError(f"{what}: its file is unusable ({session.error})")
    sid = session.opencode_session_id
    if not sid:
        raise KugetsuError(f"{what}: it has no opencode session id yet")
    problem = session_id_problem(sid)
    if problem:
        raise KugetsuError(f"{what}: its opencode_session_id {problem}")
    if agent_running and not config.server:
        raise KugetsuError(
            f"{what}: its agent is running (pid {session.pid}), and opencode's TUI without a server would be "
            "a second writer on the session; wait until it is idle, or set [agent] server in config.toml"
        )
    program = _program(config)
    require_program([program], "continue")
    cwd = session_directory(home, session, config)
    if config.server:
        argv = [program, "attach", config.server, "--dir", cwd, "--session", sid]
    else:
        argv = [program, cwd, "--session", sid]
    return TakeOver(argv, cwd, sid, config.server)


def session_directory(home: Home, session: Session, config: AgentConfig) -> str:
    """Where opencode files the session: the directory it was started in, else what its export says
    (learned once, as continue does for kugetsu's sessions), else where its agent would run."""
    cwd = run_directory(session.data, config)
    recorded = session.data.get("cwd")
    if isinstance(recorded, str) and os.path.isabs(recorded) and os.path.isdir(recorded):
        return recorded
    sid = session.opencode_session_id or ""
    known = learn_directory(home, sid, cwd, config, {"name": session.name, "issue_ref": session.issue_ref or ""})
    return known if known and os.path.isdir(known) else cwd


def _program(config: AgentConfig) -> str:
    """The opencode of `[agent] continue` when it names one by path, else `opencode` on PATH."""
    configured = config.template("continue")
    if configured and os.path.basename(configured[0]) == PROGRAM:
        return configured[0]
    return PROGRAM
