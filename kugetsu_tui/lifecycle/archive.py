"""Destroying sessions into the archive, and restoring them: nothing is ever lost.

An archive entry is a directory `archive/<name>--<timestamp>/` holding the session file as it
was (`session.json`, moved, never rewritten, so a corrupt file or a symlink is kept as is),
the opencode transcript (`export.json`), the agent log (`agent.log`), `meta.json`, and for a
session with a git worktree what only the worktree held (`worktree/`, see worktrees.saved_work).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kugetsu_tui.base.atomic import fsync_dir, fsync_tree, write_bytes, write_json
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.faults import fault_point
from kugetsu_tui.base.git import git_ok
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.base.process import live_process, start_time, terminate_tree
from kugetsu_tui.base.refs import session_id_problem
from kugetsu_tui.base.text import printable
from kugetsu_tui.cluster.slots import cluster_slot, release_slot
from kugetsu_tui.lifecycle.journal import Journal, acquire
from kugetsu_tui.lifecycle.start import find_session, names_for_target
from kugetsu_tui.opencode.directories import export_directory, run_directory
from kugetsu_tui.opencode.events import last_words
from kugetsu_tui.opencode.instances import dispose_instance
from kugetsu_tui.opencode.settings import AgentConfig, load_agent_config, render
from kugetsu_tui.opencode.steps import run_step
from kugetsu_tui.sessions import index
from kugetsu_tui.sessions.admission import check_capacity, record_admitted, record_released
from kugetsu_tui.sessions.fields import RUNTIME
from kugetsu_tui.sessions.files import (
    KIND_BASE,
    KIND_DEV,
    KIND_PM,
    Session,
    kind_for_filename,
    now_iso,
    read_session,
    same_issue_file,
    write_session_file,
)
from kugetsu_tui.sessions.intents import read_record
from kugetsu_tui.sessions.parked import parked_path
from kugetsu_tui.sessions.states import State
from kugetsu_tui.worktrees.saved_work import (
    WorktreeRecord,
    discard_restored_worktree,
    remove_worktree,
    restore_work,
    save_work,
    unchanged_since_saved,
)
from kugetsu_tui.worktrees.settings import load_worktree_settings

if TYPE_CHECKING:
    import subprocess

SESSION_FILE, EXPORT_FILE, LOG_FILE, META_FILE = "session.json", "export.json", "agent.log", "meta.json"
WORKTREE_DIR = "worktree"
# Hidden directories of archive/: an entry being built, and one being deleted (never listed as entries).
STAGING, TRASH = ".staging-", ".trash-"


class ArchiveEntry(NamedTuple):
    path: Path
    meta: dict[str, Any]

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def session_name(self) -> str:
        return str(self.meta.get("name") or self.path.name.rsplit("--", 1)[0])

    @property
    def archived_at(self) -> str:
        return str(self.meta.get("archived_at") or "")

    def holds(self) -> list[str]:
        """What the entry holds, in the words `restore --list` uses."""
        parts = {SESSION_FILE: "session file", EXPORT_FILE: "transcript", WORKTREE_DIR: "worktree", LOG_FILE: "log"}
        return [word for file, word in parts.items() if os.path.lexists(self.path / file)]

    def missing(self) -> list[str]:
        """What the session had that the entry lacks (empty: the entry is complete)."""
        missing = [str(m) for m in self.meta.get("missing") or [] if isinstance(m, str)]
        if not os.path.lexists(self.path / SESSION_FILE):
            missing.insert(0, "session file")
        if self.meta.get("complete") is None and not self.meta:
            missing.append("meta.json")
        return missing

    def rank(self) -> tuple[bool, bool, int]:
        """Fuller entries first: a session file, nothing missing, then the most parts."""
        return (os.path.lexists(self.path / SESSION_FILE), not self.missing(), len(self.holds()))


class Destroyed(NamedTuple):
    entry: ArchiveEntry
    warnings: list[str]


def destroy_steps(session: Session, alive: bool, active: int, limit: int | None, diff: str | None = None) -> list[str]:
    """What a destroy of this session will do, in order, as the CLI and the console say it; `diff` is the
    worktree's size (`3 files, +12 -4, 1 uncommitted`), so that no change is destroyed unseen."""
    steps = []
    if alive:
        steps.append(f"its agent (pid {session.pid}) is stopped")
    if session.opencode_session_id and not session.corrupt:
        steps.append("its opencode transcript is exported to the archive and the opencode session deleted")
    worktree = None if session.corrupt else session.data.get("worktree_path")
    if isinstance(worktree, str) and worktree:
        steps.append(
            f"its worktree {worktree}{f' (diff: {diff})' if diff else ''} is saved to the archive (uncommitted "
            "changes, untracked files, commits not on the base), then removed; its branch is kept unless fully merged"
        )
    steps.append(
        "the session file and log are moved to the archive (restorable with kugetsu-tui restore, or u in the console)"
    )
    if session.kind == KIND_DEV and session.path.parent.name != "parked":  # a parked one holds no slot
        steps.append(f"a slot is freed ({active - 1}/{limit if limit is not None else '?'} after)")
    return steps


def special_kind(session: Session) -> str | None:
    """How to name the base or PM session in a warning; None for a dev session."""
    return {KIND_BASE: "the BASE session (every dev session is forked from it)", KIND_PM: "the PM agent session"}.get(
        session.kind
    )


def destroy_session(
    home: Home,
    target: str,
    *,
    allow_base: bool = False,
    allow_pm: bool = False,
    force: bool = False,
    config: AgentConfig | None = None,
) -> Destroyed:
    """Save everything into a complete archive entry, make it durable, and only then destroy.

    Under the session's journal (one destroy at a time; a kill is finished by recovery):
    export the transcript and save the worktree into a staging directory (a refusal here
    changes nothing), stop the agent and save again, copy the session file and log, write
    meta.json, fsync it all and rename it into place. Then the destructive steps: the session
    file and index entry (the slot is freed), the log, the worktree, and last the opencode session.
    """
    name = _session_name(home, target)
    journal = acquire(home, name, "destroy")  # finishes or undoes a destroy killed mid-way
    try:
        finished = _finished_destroy(home, name, journal.recovered)
        if finished is not None:
            journal.release()
            return finished
        session = find_session(home, target, parked=True)
        if session.kind == KIND_BASE and not allow_base:
            raise KugetsuError("refusing to destroy the base session without --base (every dev session forks it)")
        if session.kind == KIND_PM and not allow_pm:
            raise KugetsuError("refusing to destroy the PM agent session without --pm-agent")
        config = config or load_agent_config(home)
        entry, warnings = _save_entry(home, journal, session, force, config)
        try:
            warnings += _unlist(home, name)
        except (KugetsuError, OSError) as exc:
            _discard_entry(home, entry.path)
            journal.finish()
            raise KugetsuError(
                f"cannot destroy {name}: removing its session file failed: {_reason(exc)}; nothing was changed"
                + (" (its agent was stopped)" if session.pid else "")
            ) from None
    except BaseException:
        _abandon(home, journal)
        raise
    try:
        warnings += _destroy_rest(home, journal.record, config)
    except BaseException:
        journal.release()  # the record stays: recovery finishes it
        raise
    journal.finish()
    return Destroyed(entry, warnings)


def _finished_destroy(home: Home, name: str, pending: dict[str, Any] | None) -> Destroyed | None:
    """The destroy asked for, if taking the lock just finished an interrupted one of this session (not a
    destroy that another live process completed meanwhile: that one is theirs, and this finds no session)."""
    if pending is None or pending.get("op") != "destroy" or os.path.lexists(home.session_path(name)):
        return None
    entry = home.archive_dir / str(pending.get("entry"))
    if not entry.is_dir():
        return None
    return Destroyed(
        ArchiveEntry(entry, _read_meta(entry)), ["it was being destroyed when that was interrupted: finished now"]
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}"
    return str(exc)


def _discard_entry(home: Home, entry: Path) -> None:
    """Take an entry out of the archive in one rename (then delete it): never half an entry."""
    trash = home.archive_dir / f"{TRASH}{entry.name}"
    os.rename(entry, trash)
    fsync_dir(home.archive_dir)
    fault_point("entry discarded")
    shutil.rmtree(trash, ignore_errors=True)


def _session_name(home: Home, target: str) -> str:
    """The session a target names: one with a file, else one with an interrupted operation to recover."""
    try:
        return find_session(home, target, parked=True).name
    except KugetsuError:
        for name in names_for_target(target):
            if read_record(home, name) is not None:
                return name
        raise


def _abandon(home: Home, journal: Journal) -> None:
    """After a failure, still holding the session's lock (so no other operation can start meanwhile):
    roll the operation back or forward now; if even that fails, the record stays for recovery."""
    if journal.record:  # not finished yet
        from kugetsu_tui.lifecycle.recover import recover_record

        try:
            recover_record(home, journal.name)
        except (KugetsuError, OSError):
            pass  # the record stays: `kugetsu-tui recover` (or the next command on this session) finishes it
    journal.release()


def _save_entry(
    home: Home, journal: Journal, session: Session, force: bool, config: AgentConfig
) -> tuple[ArchiveEntry, list[str]]:
    """Build the entry in a staging directory, durably, and rename it into place."""
    warnings: list[str] = []
    sid = None if session.corrupt else _usable_id(session, force, warnings)
    home.ensure(home.root, home.archive_dir)
    entry_id = f"{session.name}--{datetime.now().strftime('%Y%m%dT%H%M%S%f')}"
    staging = home.archive_dir / f"{STAGING}{entry_id}"
    record = None if session.corrupt else WorktreeRecord.of(session.data, _default_base(home, session))
    journal.write(
        "saving",
        entry=entry_id,
        staging=str(staging),
        kind=session.kind,
        opencode_session_id=sid,
        run_dir=run_directory(session.data, config) if sid else None,
        issue_ref=session.issue_ref,
    )
    staging.mkdir(mode=0o700)
    # Export and save the worktree while nothing has been touched: a refused destroy has no side effect.
    transcript = _export(session, sid, config, force, warnings)
    work = _save_worktree(record, staging, force, warnings)
    if stop_agent(session):
        if transcript is not None:
            transcript = _export(session, sid, config, True, []) or transcript  # the agent's final words too
        if work is not None:
            work = _save_worktree(record, staging, False, warnings, previous=work)  # and its last changes
    if transcript is not None:
        write_bytes(staging / EXPORT_FILE, transcript)
    missing = []
    if sid and transcript is None:
        missing.append("transcript (export failed)")
    if record is not None and work is None:
        missing.append(f"worktree (not saved: left in place at {record.path})")
    copy_as_is(session.path, staging / SESSION_FILE)
    log = home.log_path(session.name)
    if log.is_file():
        copy_as_is(log, staging / LOG_FILE)
    meta: dict[str, Any] = {
        "name": session.name,
        "kind": session.kind,
        "issue_ref": session.issue_ref,
        "opencode_session_id": sid,
        "archived_at": now_iso(),
        "exported": transcript is not None,
        "deleted_from_opencode": False,
        "state": session.recorded_state,
        "error": session.error,
        "complete": not missing,
        "missing": missing,
    }
    if work is not None:
        meta["worktree"] = work
    write_json(staging / META_FILE, meta)
    fsync_tree(staging)
    fault_point("staging fsync'd")
    entry = home.archive_dir / entry_id
    os.rename(staging, entry)
    fsync_dir(home.archive_dir)
    fault_point("entry in place")
    journal.write("archived")
    return ArchiveEntry(entry, meta), warnings


def finish_destroy(home: Home, record: dict[str, Any]) -> list[str]:
    """Finish an interrupted destroy whose entry is complete and in place; every step can be redone."""
    warnings = _unlist(home, str(record["name"]))
    return warnings + _destroy_rest(home, record, None, later=True)


def _unlist(home: Home, name: str) -> list[str]:
    """The first destructive step: the session file goes, which frees the slot, then its index entry.

    The file first (in sessions/, or in parked/ for a parked session): if it cannot be removed (a directory
    we may not write), nothing has changed and the caller discards the entry. An index entry that cannot be
    dropped after that is a warning.
    """
    with sessions_lock(home):
        path = home.session_path(name)
        for found in (path, parked_path(home, name)):
            if os.path.lexists(found):
                current = read_session(found)
                stop_agent(current)  # a launch may have recorded its processes meanwhile
                remove_as_is(found)
                fsync_dir(found.parent)
                if found == path and kind_for_filename(path.name) == KIND_DEV:
                    record_released(home, name)  # a parked session held no slot
                fault_point("session file removed")
                release_slot(home, name)
        try:
            index.remove_file(home, path.name)
        except (KugetsuError, OSError) as exc:
            return [f"index.json still names {path.name}: {_reason(exc)}"]
        fault_point("index entry removed")
    return []


def _destroy_rest(home: Home, record: dict[str, Any], config: AgentConfig | None, *, later: bool = False) -> list[str]:
    """The log, the opencode session (run in its own directory, so before the worktree), the worktree.

    Problems are warnings: everything is in the entry. `later`: finished by recovery, maybe long after the
    save, so a worktree that changed since is kept (what changed is in no entry).
    """
    name = str(record["name"])
    entry = home.archive_dir / str(record["entry"])
    warnings: list[str] = []
    log = home.log_path(name)
    if (entry / LOG_FILE).exists() and log.is_file():
        try:
            log.unlink()
        except OSError as exc:
            warnings.append(f"the log {log} was not removed (it is archived too): {_reason(exc)}")
        fault_point("log removed")
    sid = record.get("opencode_session_id")
    if isinstance(sid, str) and sid:
        _delete_archived(home, entry, name, sid, record, config or load_agent_config(home), warnings)
    saved = _read_meta(entry).get("worktree")
    if isinstance(saved, dict) and isinstance(saved.get("worktree_path"), str):  # no agent works there any more
        warnings += free_instance(home, saved["worktree_path"], config)
    if isinstance(saved, dict) and saved.get("saved_after_stop", True):  # else the worktree holds more than the entry
        try:
            worktree = _saved_record(saved)
            if later and not unchanged_since_saved(worktree, entry / WORKTREE_DIR):
                warnings.append(f"the worktree {worktree.path} changed since it was saved: left in place")
            else:
                warnings += remove_worktree(worktree)
        except (KugetsuError, OSError, KeyError, TypeError) as exc:
            warnings.append(f"the worktree {saved.get('worktree_path')} was not removed: {exc}")
    return warnings


def free_instance(home: Home, directory: str, config: AgentConfig | None = None) -> list[str]:
    """Free the opencode server's instance of a directory no session of ours runs in any more (destroy, park).

    Its failure is a warning: the session is gone either way, and the server starts the instance again if asked."""
    try:
        warning = dispose_instance(config or load_agent_config(home), directory)
    except KugetsuError as exc:  # a config.toml broken since: the instance stays
        warning = f"the opencode server's instance of {directory} was not freed: {exc}"
    return [warning] if warning else []


def _delete_archived(
    home: Home, entry: Path, name: str, sid: str, record: dict[str, Any], config: AgentConfig, warnings: list[str]
) -> None:
    """Delete the opencode session of a complete entry, and say so in its meta.json."""
    try:
        _set_meta(entry, deleted_from_opencode=True)  # said before it happens: a kill here is redone by recovery
    except OSError as exc:
        warnings.append(f"opencode session {sid} was not deleted: the archive entry cannot be updated: {_reason(exc)}")
        return
    run_dir = str(record.get("run_dir") or "")
    cwd = run_dir if os.path.isdir(run_dir) else str(home.root)
    if not _delete(name, str(record.get("issue_ref") or ""), sid, cwd, config, warnings):
        if warnings and "session not found" in warnings[-1].lower():
            return  # not in opencode (a destroy killed after deleting it): meta.json rightly says deleted
        try:
            _set_meta(entry, deleted_from_opencode=False)
        except OSError as exc:
            warnings.append(f"the archive entry {entry.name} still says it was deleted: {_reason(exc)}")


def _saved_record(saved: dict[str, Any]) -> WorktreeRecord:
    """The worktree a saved worktree's meta.json describes."""
    commit = saved.get("base_commit")
    return WorktreeRecord(
        Path(saved["repo"]), Path(saved["worktree_path"]), str(saved["branch_name"]), str(saved["base"]), commit or None
    )


def _set_meta(entry: Path, **fields: Any) -> None:
    meta = _read_meta(entry)
    meta.update(fields)
    write_json(entry / META_FILE, meta)


def _read_meta(entry: Path) -> dict[str, Any]:
    try:
        meta = json.loads((entry / META_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def copy_as_is(src: Path, dst: Path) -> None:
    """Copy a session file as it is, whatever it is: bytes, a symlink (never its target), a directory, a fifo."""
    info = os.lstat(src)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISDIR(info.st_mode):
        shutil.copytree(src, dst, symlinks=True)
    elif stat.S_ISFIFO(info.st_mode):
        os.mkfifo(dst, stat.S_IMODE(info.st_mode))
    elif stat.S_ISREG(info.st_mode):
        shutil.copyfile(src, dst, follow_symlinks=False)
        os.chmod(dst, stat.S_IMODE(info.st_mode))
    else:
        raise KugetsuError(f"cannot archive {src}: not a file, directory, symlink or fifo")


def remove_as_is(path: Path) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _usable_id(session: Session, force: bool, warnings: list[str]) -> str | None:
    """The session's opencode id, if it has opencode's form; one that has not (a NUL, `--share`) can
    neither be exported nor deleted: refused unless --force, which destroys without them."""
    sid = session.opencode_session_id
    problem = sid and session_id_problem(sid)
    if not problem:
        return sid
    if not force:
        raise KugetsuError(
            f"cannot export {session.name}: its opencode_session_id {problem}; the session is kept and nothing "
            "was changed. Use --force to destroy it without a transcript"
        )
    warnings.append(f"destroyed without a transcript, and not deleted from opencode: its opencode_session_id {problem}")
    return None


def stop_agent(session: Session) -> bool:
    """Terminate the supervisor and agent process trees if they still run; True if any did.

    Only processes whose recorded start time matches are touched (see process.is_alive).
    """
    if session.corrupt:
        return False
    roots = [
        p
        for p in (
            live_process(session.supervisor_pid, session.data.get("supervisor_started")),
            live_process(session.pid, session.data.get("pid_started")),
        )
        if p is not None
    ]
    if roots:
        terminate_tree(roots)
    return bool(roots)


def _default_base(home: Home, session: Session) -> str:
    return load_worktree_settings(home).base if session.data.get("worktree_path") else ""


def _save_worktree(
    record: WorktreeRecord | None,
    staging: Path,
    force: bool,
    warnings: list[str],
    previous: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Save what only the worktree holds into `staging/worktree`; its meta, or None if it has none.

    A failure refuses the destroy (nothing changed yet) unless --force, which then leaves the
    worktree in place. A second save after stopping the agent that fails keeps the first one and
    the worktree (`saved_after_stop` false).
    """
    if record is None:
        return None
    dest = staging / WORKTREE_DIR
    attempt = staging / f".{WORKTREE_DIR}.again" if previous is not None else dest
    try:
        meta = save_work(record, attempt)
    except (KugetsuError, OSError) as exc:
        shutil.rmtree(attempt, ignore_errors=True)
        if previous is not None:
            warnings.append(f"the worktree {record.path} is kept: saving it after its agent stopped failed: {exc}")
            return dict(previous, saved_after_stop=False)
        if not force:
            raise KugetsuError(
                f"saving the worktree of {record.path.name} failed: {exc}; the session is kept and "
                "nothing was changed. Use --force to destroy it without saving (the worktree is "
                "then left in place)"
            ) from None
        warnings.append(f"the worktree was not saved and is left in place: {exc}")
        return None
    if previous is not None:
        shutil.rmtree(dest)
        os.rename(attempt, dest)
    return meta


def _worktree_of(entry: ArchiveEntry, restored: dict[str, Any] | None) -> WorktreeRecord | None:
    """The worktree to recreate for a restored session; None if it had none."""
    recorded = entry.meta.get("worktree") or {}  # what destroy found out (kugetsu's files record no repo)
    fields = {"repo": recorded.get("repo"), "worktree_base": recorded.get("base"), **(restored or {})}
    return WorktreeRecord.of({k: v for k, v in fields.items() if v is not None})


def _session_step(
    step: str, session: Session, sid: str | None, config: AgentConfig
) -> subprocess.CompletedProcess[bytes] | None:
    """Run export or delete for the session in its own directory; None when the step is off."""
    if not sid or not config.template(step):
        return None
    argv = render(
        config.template(step), {"session_id": sid, "name": session.name, "issue_ref": session.issue_ref or ""}
    )
    return run_step(step, argv, run_directory(session.data, config))


def _export(session: Session, sid: str | None, config: AgentConfig, force: bool, warnings: list[str]) -> bytes | None:
    try:
        result = _session_step("export", session, sid, config)
    except KugetsuError as exc:
        failure = str(exc)
    else:
        if result is None:
            return None  # no opencode session, or the step is turned off
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout
        failure = last_words(result.stderr + result.stdout) if result.returncode else "it printed nothing"
    if not force:
        raise KugetsuError(
            f"export of {session.name} (opencode session {sid}) failed: {failure}; "
            "the session is kept and nothing was changed. Use --force to destroy it without a transcript"
        )
    warnings.append(f"destroyed without a transcript: export failed: {failure}")
    return None


def _delete(name: str, issue_ref: str, sid: str, cwd: str, config: AgentConfig, warnings: list[str]) -> bool:
    """Delete the opencode session; a failure is a warning (the transcript is already saved)."""
    if not config.template("delete"):
        return False
    argv = render(config.template("delete"), {"session_id": sid, "name": name, "issue_ref": issue_ref})
    try:
        result = run_step("delete", argv, cwd)
    except KugetsuError as exc:
        warnings.append(f"opencode session {sid} was not deleted: {exc}")
        return False
    if result.returncode != 0:
        warnings.append(f"opencode session {sid} was not deleted: {last_words(result.stderr + result.stdout)}")
        return False
    return True


def list_archive(home: Home) -> list[ArchiveEntry]:
    """Archived sessions, complete or not (an entry that holds nothing is not one), oldest first."""
    entries = []
    try:
        children = sorted(home.archive_dir.iterdir())
    except FileNotFoundError:
        return []
    for child in children:
        if child.name.startswith(".") or not child.is_dir() or child.is_symlink():
            continue  # staging, trash, or not an entry
        entry = ArchiveEntry(child, _read_meta(child))
        if entry.holds():
            entries.append(entry)
    return sorted(entries, key=lambda e: (e.archived_at, e.id))


def find_entry(home: Home, name: str) -> ArchiveEntry:
    """An entry by its directory name, or the fullest (then latest) entry of a session name or issue ref."""
    entries = list_archive(home)
    for entry in entries:
        if entry.id == name:
            return entry
    for entry in entries:  # an entry as `restore --list` shows it, undecodable bytes escaped
        if "\\" in name and printable(entry.id) == name:
            return entry
    wanted = {name, name[:-5] if name.endswith(".json") else name}
    try:
        from kugetsu_tui.base.refs import parse_issue_ref

        wanted.add(parse_issue_ref(name).session_name)
    except KugetsuError:
        if "#" in name or "/issues/" in name:
            raise  # meant as a ref: say why it is not one
    matches = [e for e in entries if e.session_name in wanted or printable(e.session_name) in wanted]
    if not matches:
        raise _nothing_archived(home, name)
    return max(matches, key=lambda e: (e.rank(), e.archived_at, e.id))


def restore_session(home: Home, name: str, config: AgentConfig | None = None) -> Session:
    """Bring an archived session back: re-admit it under the cap, its worktree, its transcript, then the file.

    Under the session's journal: a kill or a failure at any step is rolled back (the entry stays whole
    in the archive until the session file is back), or finished once the file is back.
    """
    try:
        session_name = find_entry(home, name).session_name
    except KugetsuError:
        return _finished_restore(home, name)
    journal = acquire(home, session_name, "restore")
    try:
        from kugetsu_tui.lifecycle.recover import recover_interrupted

        recover_interrupted(home)  # other killed operations' slots are free before this one counts
        try:
            entry = find_entry(home, name)  # again: recovery may have finished an interrupted restore of it
        except KugetsuError:
            recovered = journal.recovered or {}
            if not os.path.lexists(home.session_path(session_name)):
                raise
            if recovered.get("op") != "restore":  # a live restore by another process won the race
                raise KugetsuError(
                    f"{session_name} is back in sessions/ already: another process restored it"
                ) from None
            journal.finish()
            return read_session(home.session_path(session_name))
        config = config or load_agent_config(home)
        _restore(home, journal, entry, config)
    except BaseException:
        _abandon(home, journal)
        raise
    try:
        session = finish_restore(home, journal.record)
    except BaseException:
        journal.release()  # the record stays: recovery finishes it
        raise
    journal.finish()
    return session


def _finished_restore(home: Home, name: str) -> Session:
    """A restore killed after its entry left the archive: recovery finishes it, and that is the restore."""
    for session_name in names_for_target(name):
        if read_record(home, session_name) is not None:
            acquire(home, session_name, "restore").finish()  # recovers it
            try:
                return read_session(home.session_path(session_name))
            except FileNotFoundError:
                pass
    raise _nothing_archived(home, name)


def _nothing_archived(home: Home, name: str) -> KugetsuError:
    return KugetsuError(f"nothing archived under {name!r} in {home.archive_dir} (see: kugetsu-tui restore --list)")


def _restore(home: Home, journal: Journal, entry: ArchiveEntry, config: AgentConfig) -> None:
    session_name = entry.session_name
    kind = kind_for_filename(f"{session_name}.json")
    what = f"restore {session_name}"
    archived = entry.path / SESSION_FILE
    if not os.path.lexists(archived):
        raise KugetsuError(f"archive entry {entry.id} has no {SESSION_FILE} (it holds: {', '.join(entry.holds())})")
    target = home.session_path(session_name)
    other = same_issue_file(home.sessions_dir, session_name)
    if os.path.lexists(target) or other:
        raise KugetsuError(
            f"{session_name} exists again in sessions/ (as {other or target.name}): destroy it first to restore "
            "the archived one"
        )
    if os.path.lexists(parked_path(home, session_name)):
        raise KugetsuError(
            f"{session_name} is parked (in {home.parked_dir}): resume or destroy it first to restore the archived one"
        )
    if kind == KIND_DEV:
        check_capacity(home, what, session_name)  # preflight before the import

    restored = _restored_content(archived)
    journal.write("reserving", entry=entry.id, corrupt=restored is None)
    with sessions_lock(home):
        if os.path.lexists(target):
            raise KugetsuError(f"{session_name} exists again in sessions/: destroy it first")
        if kind == KIND_DEV:
            check_capacity(home, what, session_name, locked=True)
        # Reserve the slot now: the file counts from here, so a racing start cannot take it.
        with cluster_slot(home, what, session_name) if kind == KIND_DEV else nullcontext():
            if restored is None:
                copy_as_is(archived, target)
                fsync_dir(home.sessions_dir)
            else:
                pid = os.getpid()
                write_session_file(
                    target, dict(restored, state=State.RESTORING, restorer_pid=pid, restorer_started=start_time(pid))
                )
            if kind == KIND_DEV:
                record_admitted(home, session_name)
    fault_point("slot reserved")
    record = _worktree_of(entry, restored)
    if record is not None:
        journal.write(
            "worktree",
            worktree=_record_fields(record),
            path_existed=os.path.lexists(record.path),
            branch_existed=git_ok(["rev-parse", "--verify", "--quiet", f"refs/heads/{record.branch}"], record.repo)
            is not None,
        )
        saved = entry.path / WORKTREE_DIR
        restore_work(record, saved if saved.is_dir() else None)
    if restored is not None and (entry.path / EXPORT_FILE).exists() and config.template("import"):
        journal.write("importing", imported=str(restored.get("opencode_session_id") or ""))
        _import(entry, restored, config)
    journal.write("placing")


def finish_restore(home: Home, record: dict[str, Any]) -> Session:
    """The last steps of a restore (each can be redone): the session file, the index, the log, the entry."""
    entry = ArchiveEntry(home.archive_dir / str(record["entry"]), _read_meta(home.archive_dir / str(record["entry"])))
    target = home.session_path(entry.session_name)
    archived = entry.path / SESSION_FILE
    restored = _restored_content(archived) if os.path.lexists(archived) else None
    with sessions_lock(home):
        if restored is not None:
            current = read_session(target).data if os.path.lexists(target) else {}
            if not current or current.get("state") == State.RESTORING:
                write_session_file(target, dict(restored, restored_at=now_iso(), **_restored_state(entry, restored)))
        session = read_session(target)
        index.add_entry(home, session)
    fault_point("session placed")
    log = entry.path / LOG_FILE
    if log.exists() and not home.log_path(entry.session_name).exists():
        home.ensure(home.logs_dir)
        os.rename(log, home.log_path(entry.session_name))
        fault_point("log restored")
    if entry.path.is_dir():
        _discard_entry(home, entry.path)
    return session


def roll_back_restore(home: Home, record: dict[str, Any], config: AgentConfig | None = None) -> None:
    """Undo what an unfinished restore made (each step can be redone); its entry stays whole in the archive."""
    name = str(record["name"])
    entry = home.archive_dir / str(record.get("entry"))
    imported = record.get("imported")
    if imported and _read_meta(entry).get("deleted_from_opencode"):
        config = config or load_agent_config(home)
        _delete(name, "", str(imported), str(home.root), config, [])  # gone before this restore: gone again
    fields = record.get("worktree")
    if isinstance(fields, dict):
        worktree = WorktreeRecord(
            Path(fields["repo"]), Path(fields["path"]), fields["branch"], fields["base"], fields.get("base_commit")
        )
        discard_restored_worktree(
            worktree, made_path=not record.get("path_existed"), made_branch=not record.get("branch_existed")
        )
    with sessions_lock(home):
        target = home.session_path(name)
        archived = home.archive_dir / str(record.get("entry")) / SESSION_FILE
        if os.path.lexists(target) and record.get("step") != "reserving" or _is_placeholder(target, record, archived):
            current = read_session(target)
            index.remove_entry(home, current)
            remove_as_is(target)
            fsync_dir(home.sessions_dir)
            if kind_for_filename(target.name) == KIND_DEV:
                record_released(home, name)
            fault_point("placeholder removed")
            release_slot(home, name)


def _is_placeholder(target: Path, record: dict[str, Any], archived: Path) -> bool:
    """Our `restoring` file (a kill may have come before or after it was written); for a corrupt session,
    which is put back byte for byte, the copy of the archived file."""
    if record.get("corrupt"):
        try:
            if archived.is_symlink():
                return target.is_symlink() and os.readlink(target) == os.readlink(archived)
            return target.is_file() and not target.is_symlink() and target.read_bytes() == archived.read_bytes()
        except OSError:
            return False
    try:
        data = read_session(target).data
    except FileNotFoundError:
        return False
    return data.get("state") == State.RESTORING and data.get("restorer_pid") == record.get("pid")


def _record_fields(record: WorktreeRecord) -> dict[str, Any]:
    return {
        "repo": str(record.repo),
        "path": str(record.path),
        "branch": record.branch,
        "base": record.base,
        "base_commit": record.base_commit,
    }


def _restored_state(entry: ArchiveEntry, restored: dict[str, Any]) -> dict[str, Any]:
    """idle, unless its opencode session was deleted with no transcript kept to import back."""
    lost = (
        restored.get("opencode_session_id")
        and entry.meta.get("exported") is False
        and entry.meta.get("deleted_from_opencode", True)
    )
    if lost:
        return {
            "state": State.FAILED,
            "error": f"restored without a transcript: opencode session "
            f"{restored['opencode_session_id']} was deleted when it was destroyed",
        }
    return {"state": State.IDLE}


def _restored_content(archived: Path) -> dict[str, Any] | None:
    """The session's fields without the runtime ones of its old agent; None if it is not usable JSON."""
    session = read_session(archived)
    if session.corrupt:
        return None
    return {k: v for k, v in session.data.items() if k not in RUNTIME}


def _import_cwd(export: Path, restored: dict[str, Any], config: AgentConfig) -> str:
    """opencode files an imported session under the directory it is imported in: use the
    directory the transcript says it belongs to, else the one the session ran in."""
    try:
        directory = export_directory(export.read_bytes())
    except OSError:
        directory = None
    if directory is not None and os.path.isdir(directory):
        return directory
    return run_directory(restored, config)


def _import(entry: ArchiveEntry, restored: dict[str, Any] | None, config: AgentConfig) -> None:
    export = entry.path / EXPORT_FILE
    if restored is None or not export.exists() or not config.template("import"):
        return
    argv = render(
        config.template("import"),
        {
            "export_file": str(export),
            "name": entry.session_name,
            "session_id": str(restored.get("opencode_session_id") or ""),
            "issue_ref": str(restored.get("issue_ref") or ""),
        },
    )
    result = run_step("import", argv, _import_cwd(export, restored, config))
    if result.returncode != 0:
        raise KugetsuError(
            f"import of {entry.id} failed: {last_words(result.stderr + result.stdout)}; it stays in the archive"
        )
