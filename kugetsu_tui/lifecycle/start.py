"""Starting and continuing agent sessions: the only code paths that launch agents.

The CLI, the console and a PM agent calling the CLI all come through here, so the cap in
`admission` cannot be bypassed by any of them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kugetsu_tui.base.atomic import write_json
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.faults import fault_point
from kugetsu_tui.base.home import FILE_MODE, Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.base.process import is_alive, pid_running, start_time
from kugetsu_tui.base.refs import parse_issue_ref, session_id_problem
from kugetsu_tui.base.text import printable
from kugetsu_tui.cluster.slots import cluster_slot, release_slot
from kugetsu_tui.lifecycle.journal import Journal, acquire
from kugetsu_tui.lifecycle.launch import launch_supervised
from kugetsu_tui.opencode.directories import learn_directory, require_session_directory, run_directory
from kugetsu_tui.opencode.events import last_words
from kugetsu_tui.opencode.settings import AgentConfig, load_agent_config, render
from kugetsu_tui.opencode.steps import require_program, run_step
from kugetsu_tui.opencode.version import check_server
from kugetsu_tui.sessions import index
from kugetsu_tui.sessions.admission import check_capacity, record_admitted, record_released
from kugetsu_tui.sessions.continuable import continue_refusal
from kugetsu_tui.sessions.files import (
    BASE_FILE,
    Session,
    now_iso,
    read_session,
    same_issue_file,
    session_names,
    update_session,
)
from kugetsu_tui.sessions.parked import parked_path
from kugetsu_tui.sessions.states import LAUNCHING, State

if TYPE_CHECKING:
    from kugetsu_tui.worktrees.checkout import WorktreePlan

POLL_INTERVAL = 0.05


def new_run_id() -> str:
    """A random id for one launch (not uuid: its import costs the CLI start-up time)."""
    return os.urandom(16).hex()


DEFAULT_CONTINUE_MESSAGE = "continue"
#: Linux's MAX_ARG_STRLEN: one argument of an exec, with its NUL, is at most 32 pages.
MAX_ARGUMENT_BYTES = 32 * os.sysconf("SC_PAGE_SIZE") - 1


def check_message(message: str) -> None:
    """Refuse a message no agent can be given, before anything is written or queued: one that is not
    UTF-8 text, holds a NUL, is blank (an agent told nothing works on nothing), or is longer than the
    kernel takes in one argument (queued, it would fail every retry with "Argument list too long")."""
    try:
        size = len(message.encode("utf-8"))
    except UnicodeEncodeError:
        raise KugetsuError("the message is not valid UTF-8 text") from None
    if "\0" in message:
        raise KugetsuError("the message contains a NUL character, which no program argument can carry")
    if not message.strip():
        raise KugetsuError("the message is empty: say what the agent should do")
    if size > MAX_ARGUMENT_BYTES:
        raise KugetsuError(
            f"the message is {size} bytes, over the kernel's limit of {MAX_ARGUMENT_BYTES} bytes for one "
            "argument (MAX_ARG_STRLEN): shorten it, e.g. point the agent to a file"
        )


class Launched(NamedTuple):
    """What a start or continue did: the session, and whether the agent already reported its id."""

    name: str
    issue_ref: str | None
    opencode_session_id: str | None
    pid: int | None
    log: str
    state: State
    warning: str | None = None  # e.g. the agent directory's origin names another repository


def find_session(home: Home, target: str, *, parked: bool = False) -> Session:
    """A session by issue ref, session name or file name (`parked`: a parked one too); a clear error if none."""
    for name in names_for_target(target):
        for path in (home.session_path(name), parked_path(home, name)) if parked else (home.session_path(name),):
            try:
                return read_session(path)
            except FileNotFoundError:
                continue
    if "\\" in target:  # a name as `ls` shows it, its undecodable bytes and control characters escaped
        shown = [n[:-5] for n in session_names(home.sessions_dir) if target in (printable(n), printable(n[:-5]))]
        if len(shown) == 1:
            return read_session(home.session_path(shown[0]))
    raise KugetsuError(f"no session {target!r} in {home.sessions_dir} (see: kugetsu-tui ls)")


def names_for_target(target: str) -> list[str]:
    """The session names an issue ref, session name or file name may mean, most likely first."""
    candidates = []
    base = os.path.basename(target)
    try:
        candidates.append(parse_issue_ref(target).session_name)
    except KugetsuError:
        if "#" in target or "/issues/" in target:
            raise  # meant as a ref: why it is not one says more than "no session"
    if base == target and base not in ("", ".", ".."):
        candidates.append(base[:-5] if base.endswith(".json") else base)
    return candidates


def base_session_id(home: Home) -> str:
    path = home.sessions_dir / BASE_FILE
    try:
        base = read_session(path)
    except FileNotFoundError:
        raise KugetsuError(
            f"no base session ({path}): run `kugetsu init` first, or write base.json "
            "with the opencode_session_id of the session to fork"
        ) from None
    if base.corrupt or not base.opencode_session_id:
        raise KugetsuError(
            f"the base session {path} has no opencode_session_id "
            f"({base.error or 'field missing'}): fix it or run `kugetsu init`"
        )
    problem = session_id_problem(base.opencode_session_id)
    if problem:
        raise KugetsuError(f"the base session {path} cannot be forked: its opencode_session_id {problem}")
    return base.opencode_session_id


def start_session(
    home: Home,
    ref_text: str,
    message: str,
    config: AgentConfig | None = None,
    on_admit: Callable[[str], None] | None = None,
) -> Launched:
    """Admit a new dev session under the cap, make its worktree, then launch its agent; roll back on failure.

    Order: validate, preflight count, plan the worktree (git checks), placeholder under the lock
    (recount), worktree, launch. `on_admit(run_id)` runs under the sessions lock once the slot is
    granted, before the placeholder is written: the queue claims its item there, so claim and
    admission are one step. If it raises, nothing is admitted.
    """
    ref = parse_issue_ref(ref_text)
    check_message(message)
    what = f"start dev session for {ref}"
    config = config or load_agent_config(home)
    path = home.session_path(ref.session_name)
    if os.path.isdir(home.journal_dir):  # a killed operation may hold this ref or a slot: recovery frees them
        from kugetsu_tui.lifecycle.recover import recover_interrupted

        recover_interrupted(home)
    _refuse_existing(path, ref.text)
    _refuse_parked(home, ref.session_name, ref.text)
    check_capacity(home, what, ref.session_name)  # cheap preflight, before git runs: a refusal at capacity stays fast
    if config.server:
        check_server(config.server)

    # Imported here, not at the top: a start refused at capacity needs none of it (CLI start-up time).
    from kugetsu_tui.opencode.fork import fork_into
    from kugetsu_tui.worktrees.checkout import create_worktree, plan_worktree
    from kugetsu_tui.worktrees.settings import load_worktree_settings

    cwd = run_directory({}, config)  # a new session runs where configured, or here
    plan = plan_worktree(load_worktree_settings(home), ref, ref.session_name, cwd)  # all checks, no side effect
    values = {"issue_ref": ref.text, "name": ref.session_name, "message": message}
    base_id = None
    if plan is None:
        template = config.template("start")
        if not template:
            raise KugetsuError("starting is turned off: [agent] start is an empty list in config.toml")
        if "{base_session_id}" in "".join(template):
            values["base_session_id"] = base_session_id(home)
        argv = render(template, values)
        if config.server and values.get("base_session_id"):  # through the server: its asks wait for an answer
            from kugetsu_tui.opencode.server_run import server_run_argv

            argv = server_run_argv(config.server, cwd, message, fork=values["base_session_id"])
        require_program(argv, "start")
        if values.get("base_session_id"):  # a fork runs in its base session's directory, or hangs
            require_session_directory(home, values["base_session_id"], cwd, config, what, values)
    else:
        # opencode cannot fork into another directory: copy the base there, then continue the copy.
        template = config.template("continue")
        if not template:
            raise KugetsuError("starting in a worktree runs [agent] continue, which is an empty list in config.toml")
        base_id = base_session_id(home)
        for step in ("export", "import"):
            if config.template(step):
                require_program(config.template(step), step)
        require_program(template, "continue")
        cwd = str(plan.path)

    run_id = new_run_id()
    log = home.log_path(ref.session_name)
    home.ensure()
    journal = acquire(home, ref.session_name, "start")
    try:
        journal.write(
            "admitting",
            run_id=run_id,
            worktree=plan.session_fields() if plan else None,
            path_existed=plan.exists if plan else None,
            branch_existed=plan.branch_exists if plan else None,
        )
        _admit(home, path, ref.text, what, run_id, log, cwd, plan, on_admit)
    except BaseException:
        _undo_start(home, journal, config)
        raise
    try:
        if plan is not None:
            journal.write("worktree")
            create_worktree(plan)
            from kugetsu_tui.opencode.fork import new_session_id

            journal.write("forking", session_id=new_session_id())
            session_id = fork_into(
                base_id or "",
                cwd,
                ref.text,
                config,
                home.logs_dir / f".{ref.session_name}.fork.json",
                run_directory({}, config),
                journal.record["session_id"],
            )
            argv = render(template, dict(values, session_id=session_id))
            if config.server:  # the copy lives in the worktree, which is its directory by construction
                from kugetsu_tui.opencode.server_run import server_run_argv

                argv = server_run_argv(config.server, cwd, message, session=session_id)
        _fresh_log(log)
        journal.write("launching")
        proc = launch_supervised(home, ref.session_name, run_id, argv, cwd)
        fault_point("supervisor launched")
        _record_supervisor(home, ref.session_name, run_id, proc.pid)
        journal.write("launched")
        data = _await_launch(home, ref.session_name, run_id, proc.pid, config.start_wait)
    except BaseException as exc:
        left = _undo_start(home, journal, config)
        if isinstance(exc, KugetsuError):
            raise KugetsuError(f"Cannot {what}: {exc}{left}") from None
        if isinstance(exc, OSError):
            raise KugetsuError(f"Cannot {what}: {exc.strerror or exc}{left}") from None
        raise
    reported = data.get("first_event_at") if plan else data.get("opencode_session_id")
    if data.get("state") == State.FAILED and not reported:
        tail = last_words(_read_log(log))
        left = _undo_start(home, journal, config)
        raise KugetsuError(f"Cannot {what}: the agent failed: {tail}{left}")
    journal.finish()
    return _launched(ref.session_name, data, log)._replace(warning=plan.warning if plan else None)


def _admit(
    home: Home,
    path: Path,
    ref: str,
    what: str,
    run_id: str,
    log: Path,
    cwd: str,
    plan: WorktreePlan | None,
    on_admit: Callable[[str], None] | None,
) -> None:
    """Under the lock: recount, claim (on_admit), then the placeholder and its index entry."""
    with sessions_lock(home):
        _refuse_existing(path, ref)
        _refuse_parked(home, path.name[: -len(".json")], ref)
        check_capacity(home, what, path.name[: -len(".json")], locked=True)  # authoritative, under the lock
        with cluster_slot(home, what, path.name[: -len(".json")]):  # and the cluster's cap, if [cluster] is set
            if on_admit is not None:
                on_admit(run_id)
            write_json(
                path,
                {
                    "type": "forked",
                    "issue_ref": ref,
                    "opencode_session_id": None,
                    "created_at": now_iso(),
                    "state": State.STARTING,
                    "run_id": run_id,
                    "starter_pid": os.getpid(),
                    "starter_started": start_time(os.getpid()),
                    "log": str(log),
                    "cwd": cwd,
                    **(plan.session_fields() if plan else {}),
                },
            )
            index.add_entry(home, read_session(path))
            record_admitted(home, path.name[: -len(".json")])


def _left_behind(left: list[str]) -> str:
    return f" (rolled back, but left behind: {'; '.join(left)})" if left else ""


def roll_back_start(home: Home, record: dict[str, Any], config: AgentConfig | None = None) -> list[str]:
    """Remove everything an unfinished start made, in reverse: the opencode copy, the worktree and the
    branch (if this start made them and they hold no commit), the placeholder, its index entry and log.

    Driven by the journal record alone, so a crashed start is rolled back by another process. A start
    whose agent already launched (and has not failed before its first event) is left alone. Returns
    what could not be undone.
    """
    name, run_id = str(record.get("name")), str(record.get("run_id"))
    if record.get("step") in ("launching", "launched") and _launched_alive(home, name, run_id):
        return []
    left: list[str] = []
    session_id, fields = record.get("session_id"), record.get("worktree")
    config = config or load_agent_config(home)
    if isinstance(session_id, str) and isinstance(fields, dict) and config.template("delete"):
        argv = render(config.template("delete"), {"session_id": session_id, "name": name, "issue_ref": ""})
        where = str(fields["worktree_path"])
        try:
            result = run_step("delete", argv, where if os.path.isdir(where) else str(home.root))
            if result.returncode != 0 and b"not found" not in (result.stdout + result.stderr).lower():
                left.append(f"opencode session {session_id}")
        except KugetsuError:
            left.append(f"opencode session {session_id}")
    if isinstance(fields, dict) and record.get("step") != "admitting":
        from kugetsu_tui.worktrees.checkout import discard_started_worktree

        try:
            discard_started_worktree(
                Path(fields["repo"]),
                Path(fields["worktree_path"]),
                str(fields["branch_name"]),
                str(fields["worktree_base_commit"]),
                made_path=not record.get("path_existed"),
                made_branch=not record.get("branch_existed"),
            )
        except KugetsuError as exc:
            left.append(f"worktree {fields['worktree_path']} ({exc})")
    (home.logs_dir / f".{name}.fork.json").unlink(missing_ok=True)
    _roll_back(home, name, run_id)
    return left


def _undo_start(home: Home, journal: Journal, config: AgentConfig) -> str:
    """Roll a failed start back now and drop its record; what could not be undone is said in words.

    If the rollback itself fails (the cause of the failure may stop it too: a directory it may not
    write), the record stays for recovery (the next command on this session, or `recover`).
    """
    try:
        left = roll_back_start(home, journal.record, config)
    except (KugetsuError, OSError):
        journal.release()
        return "; its rollback is left to `kugetsu-tui recover`"
    journal.finish()
    return _left_behind(left)


def _launched_alive(home: Home, name: str, run_id: str) -> bool:
    """Did this start's agent launch (and not fail before its first event)? Then the start stands."""
    try:
        data = read_session(home.session_path(name)).data
    except FileNotFoundError:
        return False
    if data.get("run_id") != run_id:
        return False
    state = State.recorded(data.get("state"))
    if state == State.FAILED and not data.get("first_event_at"):
        return False
    return bool(data.get("pid") or data.get("first_event_at") or state != State.STARTING)


def continue_session(
    home: Home, target: str, message: str | None = None, config: AgentConfig | None = None
) -> Launched:
    """Send a further message to an existing session. Never counted, never capped, but a parked
    session is resumed first, under the cap (lifecycle/park.py)."""
    if message is not None:
        check_message(message)
    try:
        session = find_session(home, target)
    except KugetsuError:
        from kugetsu_tui.lifecycle.park import find_parked, resume_session

        if find_parked(home, target) is None:
            raise
        launched = resume_session(home, target, message or DEFAULT_CONTINUE_MESSAGE, config).launched
        assert launched is not None  # a message was given
        return launched
    refused = continue_refusal(session, is_alive(session.pid, session.data.get("pid_started")))
    if refused:
        raise KugetsuError(refused)
    sid = session.opencode_session_id
    assert sid  # continue_refusal says so otherwise
    config = config or load_agent_config(home)
    template = config.template("continue")
    if not template:
        raise KugetsuError("continuing is turned off: [agent] continue is an empty list in config.toml")
    cwd = run_directory(session.data, config)
    found: dict[str, str] = {}
    if session.data.get("worktree_path") and not isinstance(session.data.get("cwd"), str):
        # Made by kugetsu, whose later layout keeps the opencode session outside its worktree:
        # run where opencode files the session, as its export says (learned once).
        directory = learn_directory(home, sid, cwd, config, {"name": "", "issue_ref": ""})
        if directory and os.path.isdir(directory):
            cwd = found["cwd"] = directory
    argv = render(
        template,
        {
            "session_id": sid,
            "issue_ref": session.issue_ref or "",
            "name": session.name,
            "message": message or DEFAULT_CONTINUE_MESSAGE,
        },
    )
    if config.server:  # through the server: its asks wait for an answer
        from kugetsu_tui.opencode.server_run import server_run_argv

        check_server(config.server)
        argv = server_run_argv(config.server, cwd, message or DEFAULT_CONTINUE_MESSAGE, session=sid)
    require_program(argv, "continue")
    require_session_directory(
        home, sid, cwd, config, f"continue {session.name}", {"issue_ref": session.issue_ref or "", "name": session.name}
    )
    journal = acquire(home, session.name, "continue")  # not while a destroy or restore of it runs
    try:
        return _continue(home, session, argv, cwd, found, config)
    finally:
        journal.release()


def _continue(
    home: Home, session: Session, argv: list[str], cwd: str, found: dict[str, str], config: AgentConfig
) -> Launched:
    run_id = new_run_id()
    log = home.log_path(session.name)
    home.ensure()
    previous: dict[str, Any] = {}

    def claim(data: dict[str, Any]) -> None:
        for pid_key, started_key in (("supervisor_pid", "supervisor_started"), ("pid", "pid_started")):
            pid = data.get(pid_key)
            if data.get("state") in LAUNCHING and isinstance(pid, int) and is_alive(pid, data.get(started_key)):
                raise KugetsuError(f"cannot continue {session.name}: its agent is still running (pid {pid})")
        previous.update(data)
        data.update(
            run_id=run_id, state=State.STARTING, log=str(log), exit_code=None, error=None, first_event_at=None, **found
        )

    if update_session(home, session.name, claim) is None:
        raise KugetsuError(f"cannot continue {session.name}: the session changed meanwhile, try again")
    try:
        proc = launch_supervised(home, session.name, run_id, argv, cwd)
    except OSError as exc:
        update_session(home, session.name, lambda data: previous, run_id=run_id)
        raise KugetsuError(f"cannot continue {session.name}: cannot launch the supervisor: {exc}") from None
    _record_supervisor(home, session.name, run_id, proc.pid)
    data = _await_launch(home, session.name, run_id, proc.pid, config.start_wait)
    if data.get("state") == State.FAILED and not data.get("first_event_at"):
        raise KugetsuError(f"cannot continue {session.name}: the agent failed: {last_words(_read_log(log))}")
    return _launched(session.name, data, log)


def _record_supervisor(home: Home, name: str, run_id: str, pid: int) -> None:
    def apply(data: dict[str, Any]) -> None:
        if not data.get("supervisor_pid") or data.get("state") == State.STARTING:
            data.update(supervisor_pid=pid, supervisor_started=start_time(pid))

    update_session(home, name, apply, run_id=run_id)


def _refuse_existing(path: Path, ref: str) -> None:
    other = same_issue_file(path.parent, path.name[: -len(".json")])
    if other is not None:
        raise KugetsuError(
            f"{ref} already has a session as {other} (owners and repositories are case-insensitive): "
            f"use `kugetsu-tui continue {other[: -len('.json')]}`"
        )
    if not os.path.lexists(path):
        return
    try:
        owner = read_session(path).issue_ref
    except FileNotFoundError:
        return
    if owner and owner != ref:
        # kugetsu's naming maps a-b/c#1 and a/b-c#1 to the same file.
        raise KugetsuError(
            f"{path.name} already holds the session of {owner}, which kugetsu names like {ref}: destroy that one first"
        )
    raise KugetsuError(f"{ref} already has a session ({path.name}): use `kugetsu-tui continue {ref}`")


def _refuse_parked(home: Home, name: str, ref: str) -> None:
    """A parked session keeps its issue: a second one would fork the work it holds."""
    found = name + ".json" if os.path.lexists(parked_path(home, name)) else same_issue_file(home.parked_dir, name)
    if found:
        raise KugetsuError(
            f"{ref} has a parked session ({found}): `kugetsu-tui continue {found[:-5]} MESSAGE` resumes it"
        )


def _await_launch(home: Home, name: str, run_id: str, supervisor_pid: int, wait: float) -> dict[str, Any]:
    """Wait until the agent's first event (with its session id), its end, or `wait` seconds."""
    deadline = time.monotonic() + wait
    data: dict[str, Any] = {}
    while True:
        try:
            session = read_session(home.session_path(name))
        except FileNotFoundError:
            raise KugetsuError(f"session {name} was removed while starting") from None
        data = session.data
        if data.get("run_id") != run_id:
            raise KugetsuError(f"session {name} was replaced while starting")
        state = State.recorded(data.get("state"))
        if data.get("first_event_at") or state in (State.IDLE, State.FAILED):
            return data
        if state == State.STARTING and not pid_running(supervisor_pid):
            # The supervisor died before it could record anything.
            data = dict(data, state=State.FAILED)
            return data
        if time.monotonic() >= deadline:
            return data
        time.sleep(POLL_INTERVAL)


def _roll_back(home: Home, name: str, run_id: str) -> None:
    """Remove a start that failed: its file, its index entry and its log. Nothing is left behind."""
    path = home.session_path(name)
    if not os.path.lexists(path):
        return  # never admitted: the index entry comes after the placeholder, so neither is there
    with sessions_lock(home):
        try:
            session = read_session(path)
        except FileNotFoundError:
            return
        if session.data.get("run_id") != run_id:
            return
        index.remove_entry(home, session)
        path.unlink()
        record_released(home, name)
        release_slot(home, name)
    try:
        home.log_path(name).unlink()
    except FileNotFoundError:
        pass


def _fresh_log(log: Path) -> None:
    """A fresh session gets a fresh log, made here: a log the supervisor could not write would fail the
    agent with no output at all, so a directory we may not write is said now, in words."""
    try:
        log.unlink(missing_ok=True)  # a symlink goes, never its target
        os.close(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE))
    except OSError as exc:
        raise KugetsuError(f"cannot write the agent log {log}: {exc.strerror or exc}") from None


def _read_log(log: Path) -> bytes:
    try:
        return log.read_bytes()[-8192:]
    except OSError:
        return b""


def _launched(name: str, data: dict[str, Any], log: Any) -> Launched:
    return Launched(
        name=name,
        issue_ref=data.get("issue_ref"),
        opencode_session_id=data.get("opencode_session_id"),
        pid=data.get("pid"),
        log=str(log),
        state=State.recorded(data.get("state") or State.STARTING),
    )
