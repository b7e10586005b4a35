"""Parking a dev session and resuming it: its slot freed and taken again, nothing lost, cheaper than a destroy.

Park moves the session file from `sessions/` to `parked/` in one rename under the sessions lock, so at every
instant the file is in exactly one of them, and kugetsu's count (`sessions/*.json`) stops seeing it when the
rename lands. Nothing else moves: the worktree, the branch, the log and the opencode session stay, so a
resume goes on where the session stopped. Resume renames it back in the same locked section that counts
the slots (sessions/admission.py): it comes back only under the cap. Both hold the session's journal lock
(one operation per session: a second press, or a destroy, waits its turn or is refused) and record their
step first; a kill is finished by recovery (recover.py), which only has to tidy the `parked_at` field.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

from kugetsu_tui.base.atomic import fsync_dir
from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.base.faults import fault_point
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.cluster.slots import cluster_slot, release_slot
from kugetsu_tui.lifecycle.journal import Journal, acquire
from kugetsu_tui.lifecycle.start import (
    Launched,
    check_message,
    continue_session,
    find_session,
    names_for_target,
    new_run_id,
)
from kugetsu_tui.opencode.settings import AgentConfig, load_agent_config
from kugetsu_tui.sessions import ledger
from kugetsu_tui.sessions.activities import ActivityInfo
from kugetsu_tui.sessions.admission import check_capacity
from kugetsu_tui.sessions.files import Session, now_iso, read_session, update_session, write_session_file
from kugetsu_tui.sessions.intents import read_record
from kugetsu_tui.sessions.overview import view
from kugetsu_tui.sessions.parked import PARKED_AT, park_refusal, parked_path


class Parked(NamedTuple):
    """A parked session, and what could not be tidied after it (a warning each; the park itself is done)."""

    session: Session
    warnings: list[str]


class Resumed(NamedTuple):
    """A resumed session, and its agent's launch when a message was sent."""

    session: Session
    launched: Launched | None


def find_parked(home: Home, target: str) -> Session | None:
    """The parked session an issue ref, session name or file name means, or None."""
    for name in names_for_target(target):
        try:
            return read_session(parked_path(home, name))
        except FileNotFoundError:
            continue
    return None


def park_session(
    home: Home,
    target: str,
    *,
    waiting: Callable[[Session], str | None],
    activity: Callable[[Session], ActivityInfo | None] | None = None,
) -> Parked:
    """Free a dev session's slot: its file goes to `parked/`, everything else stays. Returns the parked file.

    Refused with one line for the base or PM session, an agent that runs or waits for an answer, and a
    session for which a prompt waits in the queue (`waiting(session)`: that item's id, asked under the
    sessions lock, which queueing takes too). `activity` says what its agent is doing (default: ask).
    """
    try:
        name = find_session(home, target).name
    except KugetsuError:
        parked = find_parked(home, target)
        if parked is None:
            raise
        _recover_if_interrupted(home, parked.name)  # a killed park of it: tidied, and this one is done
        raise KugetsuError(f"{parked.name} is parked already: continue or resume brings it back") from None
    journal = acquire(home, name, "park")
    try:
        if not os.path.lexists(home.session_path(name)) and os.path.lexists(parked_path(home, name)):
            raise KugetsuError(f"{name} is parked already: another process parked it")
        session = find_session(home, target)  # again, under the lock: a finished operation may have moved it
        doing = (activity or _activity(home))(session)
        refused = park_refusal(view(session), doing, None)
        if refused:
            raise KugetsuError(refused)
        journal.write("parking")
        home.ensure(home.root, home.parked_dir)
        with sessions_lock(home):
            current = read_session(session.path)  # the agent's supervisor writes under this lock: look again
            refused = park_refusal(view(current), doing, waiting(current))
            if refused:
                raise KugetsuError(refused)
            target_path = parked_path(home, name)
            if os.path.lexists(target_path):
                raise KugetsuError(f"cannot park {name}: {target_path} exists already; move it away first")
            os.rename(current.path, target_path)
            fsync_dir(home.parked_dir)
            fsync_dir(home.sessions_dir)
            ledger.record_parked(home, name)
            fault_point("session parked")
            release_slot(home, name)
        _set_parked_at(target_path, now_iso())
    except FileNotFoundError:
        _end(journal)
        raise KugetsuError(f"cannot park {name}: its file was removed meanwhile") from None
    except BaseException:
        _end(journal)  # nothing moved, or the move is whole: there is nothing for recovery to do
        raise
    journal.finish()
    parked = read_session(parked_path(home, name))
    return Parked(parked, _free_worktree_instance(home, parked))


def _free_worktree_instance(home: Home, parked: Session) -> list[str]:
    """A parked session's agent no longer runs in its worktree: the server's instance of that directory is
    freed (it never frees one itself); a resume starts it again when the server is next asked."""
    worktree = parked.data.get("worktree_path")
    if not isinstance(worktree, str) or not worktree:
        return []
    from kugetsu_tui.lifecycle.archive import free_instance

    return free_instance(home, worktree)


def resume_session(
    home: Home,
    target: str,
    message: str | None = None,
    config: AgentConfig | None = None,
    on_admit: Callable[[str], None] | None = None,
) -> Resumed:
    """Take a slot for a parked session again, under the cap, then send it `message` (if any).

    The file goes back to `sessions/` first, in the locked section that recounts the slots (exit 2 when
    full: nothing moved). `on_admit(run_id)` runs there, once the slot is granted: the queue claims its
    item in the same step. A message that cannot be sent leaves the session resumed, idle, and says so.
    """
    if message is not None:
        check_message(message)
    parked = find_parked(home, target)
    if parked is None:
        for name in names_for_target(target):
            _recover_if_interrupted(home, name)  # a killed resume of it: tidied, and this one is done
        raise KugetsuError(f"no parked session {target!r} in {home.parked_dir} (see: kugetsu-tui ls)")
    name = parked.name
    what = f"resume {name}"
    _admit(home, what, name, locked=False)  # cheap preflight: a refusal at capacity stays fast
    journal = acquire(home, name, "resume")
    try:
        source = parked_path(home, name)
        journal.write("resuming")
        with sessions_lock(home):
            if not os.path.lexists(source):
                raise KugetsuError(f"{name} is no longer parked: another process resumed or destroyed it")
            if os.path.lexists(home.session_path(name)):
                raise KugetsuError(
                    f"cannot resume {name}: sessions/ holds a session of that name again; destroy one of them first"
                )
            _admit(home, what, name, locked=True)  # authoritative, under the lock
            with cluster_slot(home, what, name):  # and the cluster's cap, if [cluster] is set
                if on_admit is not None:
                    on_admit(new_run_id())
                os.rename(source, home.session_path(name))
            fsync_dir(home.sessions_dir)
            fsync_dir(home.parked_dir)
            ledger.record_resumed(home, name)
            fault_point("session resumed")
        _drop_parked_at(home, name)
    except BaseException:
        _end(journal)  # nothing moved, or the move is whole
        raise
    journal.finish()
    session = read_session(home.session_path(name))
    if message is None:
        return Resumed(session, None)
    try:
        launched = continue_session(home, name, message, config or load_agent_config(home))
    except KugetsuError as exc:
        raise KugetsuError(f"resumed {name} (its slot is taken), but the message was not sent: {exc}") from None
    return Resumed(session, launched)


def _recover_if_interrupted(home: Home, name: str) -> None:
    """Finish an operation on `name` that a kill left (taking its lock does it), if there is one."""
    if read_record(home, name) is not None:
        acquire(home, name, "recover").finish()


def _admit(home: Home, what: str, name: str, *, locked: bool) -> None:
    """The cap's check (sessions/admission.py), its refusal offering the queue. `locked`: the caller holds
    the sessions lock (the check must not take it again)."""
    try:
        check_capacity(home, what, name, locked=locked)
    except AtCapacityError as exc:
        raise AtCapacityError(f"{exc} Or queue the resume: kugetsu-tui continue {name} --queue") from None


def _end(journal: Journal) -> None:
    """After a failure: drop the record (a record never written, on a full disk, is no error) and the lock."""
    try:
        journal.finish()
    except OSError:
        journal.release()  # a record left behind is finished by recovery


def finish_interrupted(home: Home, record: dict[str, Any]) -> None:
    """After a kill: the file is in one place or the other, whole; only its `parked_at` may be out of date."""
    name = str(record["name"])
    if record.get("op") == "park" and os.path.lexists(parked_path(home, name)):
        found = read_session(parked_path(home, name))
        if not found.corrupt and not found.data.get(PARKED_AT):
            _set_parked_at(found.path, now_iso())
    elif record.get("op") == "resume" and os.path.lexists(home.session_path(name)):
        _drop_parked_at(home, name)


def _set_parked_at(path: Any, when: str) -> None:
    """Say when it was parked, in the parked file (best effort: the move, not this field, is the park)."""
    try:
        found = read_session(path)
        if not found.corrupt:
            write_session_file(path, {**found.data, PARKED_AT: when})
    except (KugetsuError, OSError):
        pass  # a full disk: the session is parked all the same, `ls` shows no time for it


def _drop_parked_at(home: Home, name: str) -> None:
    def drop(data: dict[str, Any]) -> None:
        data.pop(PARKED_AT, None)

    try:
        update_session(home, name, drop)
    except (KugetsuError, OSError):
        pass  # a full disk: resumed all the same; the stale field is dropped at the next rewrite or park


def _activity(home: Home) -> Callable[[Session], ActivityInfo | None]:
    def ask(session: Session) -> ActivityInfo | None:
        from kugetsu_tui.opencode.activity import activities

        try:
            config = load_agent_config(home)
        except KugetsuError:
            return None
        return activities(home, [view(session)], config).get(session.name)

    return ask
