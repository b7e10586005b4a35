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
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kugetsu_tui.base.atomic import write_bytes, write_json
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.base.locking import sessions_lock
from kugetsu_tui.base.process import live_process, terminate_tree
from kugetsu_tui.base.refs import session_id_problem
from kugetsu_tui.base.text import printable
from kugetsu_tui.lifecycle.start import find_session
from kugetsu_tui.opencode.directories import export_directory, run_directory
from kugetsu_tui.opencode.events import last_words
from kugetsu_tui.opencode.settings import AgentConfig, load_agent_config, render
from kugetsu_tui.opencode.steps import run_step
from kugetsu_tui.sessions import index
from kugetsu_tui.sessions.admission import check_capacity
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
from kugetsu_tui.sessions.states import State
from kugetsu_tui.worktrees.saved_work import WorktreeRecord, remove_worktree, restore_work, save_work
from kugetsu_tui.worktrees.settings import load_worktree_settings

if TYPE_CHECKING:
    import subprocess

SESSION_FILE, EXPORT_FILE, LOG_FILE, META_FILE = "session.json", "export.json", "agent.log", "meta.json"
WORKTREE_DIR = "worktree"


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


class Destroyed(NamedTuple):
    entry: ArchiveEntry
    warnings: list[str]


def destroy_steps(session: Session, alive: bool, active: int, limit: int | None) -> list[str]:
    """What a destroy of this session will do, in order, as the CLI and the console say it."""
    steps = []
    if alive:
        steps.append(f"its agent (pid {session.pid}) is stopped")
    if session.opencode_session_id and not session.corrupt:
        steps.append("its opencode transcript is exported to the archive and the opencode session deleted")
    worktree = None if session.corrupt else session.data.get("worktree_path")
    if isinstance(worktree, str) and worktree:
        steps.append(
            f"its worktree {worktree} is saved to the archive (uncommitted changes, untracked files, "
            "commits not on the base), then removed; its branch is kept unless fully merged"
        )
    steps.append(
        "the session file and log are moved to the archive (restorable: `kugetsu-tui restore`, or u in the console)"
    )
    if session.kind == KIND_DEV:
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
    """Stop the agent, save the transcript, delete the opencode session, archive the file."""
    session = find_session(home, target)
    if session.kind == KIND_BASE and not allow_base:
        raise KugetsuError("refusing to destroy the base session without --base (every dev session forks it)")
    if session.kind == KIND_PM and not allow_pm:
        raise KugetsuError("refusing to destroy the PM agent session without --pm-agent")
    config = config or load_agent_config(home)
    warnings: list[str] = []
    sid = None if session.corrupt else _usable_id(session, force, warnings)

    # Export and save the worktree while nothing has been touched: a refused destroy has no side effect.
    transcript = _export(session, sid, config, force, warnings)
    work = _save_worktree(home, session, force, warnings)
    if stop_agent(session):
        if transcript is not None:
            transcript = _export(session, sid, config, True, []) or transcript  # the agent's final words too
        if work is not None:
            work = _save_worktree(home, session, False, warnings, previous=work)  # and its last changes
    deleted = _delete(session, sid, config, warnings)

    entry_dir = _new_entry_dir(home, session.name)
    if transcript is not None:
        write_bytes(entry_dir / EXPORT_FILE, transcript)
    meta: dict[str, Any] = {
        "name": session.name,
        "kind": session.kind,
        "issue_ref": session.issue_ref,
        "opencode_session_id": sid,
        "archived_at": now_iso(),
        "exported": transcript is not None,
        "deleted_from_opencode": deleted,
        "state": session.recorded_state,
        "error": session.error,
    }
    if work is not None:
        os.rename(work.staging, entry_dir / WORKTREE_DIR)
        meta["worktree"] = work.meta
    with sessions_lock(home):
        if os.path.lexists(session.path):
            index.remove_entry(home, session)
            os.rename(session.path, entry_dir / SESSION_FILE)
        write_json(entry_dir / META_FILE, meta)
    archived = entry_dir / SESSION_FILE
    if os.path.lexists(archived):
        stop_agent(read_session(archived))  # a launch may have recorded its processes meanwhile
    log = home.log_path(session.name)
    if log.exists():
        os.rename(log, entry_dir / LOG_FILE)
    if work is not None and work.complete:
        warnings += remove_worktree(work.record)
    return Destroyed(ArchiveEntry(entry_dir, meta), warnings)


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


class SavedWorktree(NamedTuple):
    record: WorktreeRecord
    staging: Path  # a hidden directory in archive/, moved into the entry as `worktree/`
    meta: dict[str, Any]
    complete: bool  # saved after the agent stopped (or it was not running): the worktree may go


def _save_worktree(
    home: Home, session: Session, force: bool, warnings: list[str], previous: SavedWorktree | None = None
) -> SavedWorktree | None:
    """Save what only the session's worktree holds; None when it has none, or saving failed under --force.

    A failure refuses the destroy (nothing changed yet) unless --force, which then leaves the
    worktree in place. A second save after stopping the agent that fails keeps the first one and
    the worktree.
    """
    if session.corrupt or not session.data.get("worktree_path"):
        return None
    home.ensure(home.root, home.archive_dir)
    staging = home.archive_dir / f".{session.name}.{WORKTREE_DIR}.{os.urandom(4).hex()}"
    try:
        record = WorktreeRecord.of(session.data, load_worktree_settings(home).base)
        if record is None:
            return None
        saved = SavedWorktree(record, staging, save_work(record, staging), complete=True)
    except (KugetsuError, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if previous is not None:
            warnings.append(
                f"the worktree {previous.record.path} is kept: saving it after its agent stopped failed: {exc}"
            )
            return previous._replace(complete=False)
        if not force:
            raise KugetsuError(
                f"saving the worktree of {session.name} failed: {exc}; the session is kept and "
                "nothing was changed. Use --force to destroy it without saving (the worktree is "
                "then left in place)"
            ) from None
        warnings.append(f"the worktree was not saved and is left in place: {exc}")
        return None
    if previous is not None:
        shutil.rmtree(previous.staging, ignore_errors=True)
    return saved


def _restore_worktree(entry: ArchiveEntry, restored: dict[str, Any] | None) -> WorktreeRecord | None:
    """Recreate the session's worktree and re-apply its saved work; None if it had none."""
    saved = entry.path / WORKTREE_DIR
    recorded = entry.meta.get("worktree") or {}  # what destroy found out (kugetsu's files record no repo)
    fields = {"repo": recorded.get("repo"), "worktree_base": recorded.get("base"), **(restored or {})}
    record = WorktreeRecord.of({k: v for k, v in fields.items() if v is not None})
    if record is None:
        return None
    restore_work(record, saved if saved.is_dir() else None)
    return record


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


def _delete(session: Session, sid: str | None, config: AgentConfig, warnings: list[str]) -> bool:
    """Delete the opencode session; a failure is a warning (the transcript is already saved)."""
    try:
        result = _session_step("delete", session, sid, config)
    except KugetsuError as exc:
        warnings.append(f"opencode session {sid} was not deleted: {exc}")
        return False
    if result is None:
        return False
    if result.returncode != 0:
        warnings.append(f"opencode session {sid} was not deleted: {last_words(result.stderr + result.stdout)}")
        return False
    return True


def _new_entry_dir(home: Home, name: str) -> Path:
    home.ensure(home.root, home.archive_dir)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    path = home.archive_dir / f"{name}--{stamp}"
    path.mkdir(mode=0o700)
    return path


def list_archive(home: Home) -> list[ArchiveEntry]:
    """Archived sessions, oldest first."""
    entries = []
    try:
        children = sorted(home.archive_dir.iterdir())
    except FileNotFoundError:
        return []
    for child in children:
        if not child.is_dir() or child.is_symlink() or not os.path.lexists(child / SESSION_FILE):
            continue  # not an entry (or one a crash left unfinished)
        try:
            meta = json.loads((child / META_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            meta = {}
        entries.append(ArchiveEntry(child, meta if isinstance(meta, dict) else {}))
    return sorted(entries, key=lambda e: (e.archived_at, e.id))


def find_entry(home: Home, name: str) -> ArchiveEntry:
    """An entry by its directory name, or the latest entry of a session name or issue ref."""
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
        raise KugetsuError(f"nothing archived under {name!r} in {home.archive_dir} (see: kugetsu-tui restore --list)")
    return matches[-1]


def restore_session(home: Home, name: str, config: AgentConfig | None = None) -> Session:
    """Bring an archived session back: re-admit it under the cap, import its transcript, then the file."""
    entry = find_entry(home, name)
    session_name = entry.session_name
    kind = kind_for_filename(f"{session_name}.json")
    what = f"restore {session_name}"
    config = config or load_agent_config(home)
    archived = entry.path / SESSION_FILE
    if not os.path.lexists(archived):
        raise KugetsuError(f"archive entry {entry.id} has no {SESSION_FILE}")
    target = home.session_path(session_name)
    other = same_issue_file(home.sessions_dir, session_name)
    if os.path.lexists(target) or other:
        raise KugetsuError(
            f"{session_name} exists again in sessions/ (as {other or target.name}): destroy it first to restore "
            "the archived one"
        )
    if kind == KIND_DEV:
        check_capacity(home, what)  # preflight before the import

    restored = _restored_content(archived)
    with sessions_lock(home):
        if os.path.lexists(target):
            raise KugetsuError(f"{session_name} exists again in sessions/: destroy it first")
        if kind == KIND_DEV:
            check_capacity(home, what)
        # Reserve the slot now: the file counts from here, so a racing start cannot take it.
        if restored is None:
            os.rename(archived, target)
        else:
            write_session_file(target, dict(restored, state=State.RESTORING))
    try:
        record = _restore_worktree(entry, restored)
    except KugetsuError:
        _unreserve(home, target, archived, restored)
        raise
    try:
        _import(entry, restored, config)
    except KugetsuError:
        if record is not None:
            remove_worktree(record)  # the saved work stays in the archive entry
        _unreserve(home, target, archived, restored)
        raise
    with sessions_lock(home):
        if restored is not None:
            write_session_file(target, dict(restored, restored_at=now_iso(), **_restored_state(entry, restored)))
        session = read_session(target)
        index.add_entry(home, session)
    log = entry.path / LOG_FILE
    if log.exists() and not home.log_path(session_name).exists():
        home.ensure(home.logs_dir)
        os.rename(log, home.log_path(session_name))
    shutil.rmtree(entry.path)
    return session


def _unreserve(home: Home, target: Path, archived: Path, restored: dict[str, Any] | None) -> None:
    with sessions_lock(home):
        if restored is None:
            os.rename(target, archived)
        else:
            target.unlink()


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
