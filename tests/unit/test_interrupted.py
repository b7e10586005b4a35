"""Interrupted operations: shown as such, recovered by `recover`, and one destroy per session."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers import PY, cli_env, dev_files, run_cli, wait_state

NAME, REF = "github.com-shoko-kugetsu-49", "github.com/shoko/kugetsu#49"


def fault_point_number(home, trace: Path, label: str, *args: str) -> str:
    """The number of the fault point called `label` that the command passes, from a run that goes to the end
    (`KUGETSU_TUI_KILL_AT=0` kills nowhere and traces every point), for a later run killed right there."""
    done = run_cli(home, *args, env={"KUGETSU_TUI_KILL_AT": "0", "KUGETSU_TUI_FAULT_TRACE": str(trace)})
    assert done.returncode == 0, done.stderr
    (at,) = [line.split()[0] for line in trace.read_text().splitlines() if line.endswith(f" {label}")]
    return at


def destroy_killed_at(home, trace: Path, label: str, target: str = REF, name: str = NAME) -> None:
    """A destroy of `target` killed right at its fault point `label`: found by a whole destroy, which a
    restore of `name` then undoes, so that the killed destroy starts from the same session."""
    at = fault_point_number(home, trace, label, "destroy", target, "-y")
    assert run_cli(home, "restore", name).returncode == 0
    assert run_cli(home, "destroy", target, "-y", env={"KUGETSU_TUI_KILL_AT": at}).returncode == -9


def test_a_killed_restore_is_shown_interrupted_and_recover_puts_it_back(home):
    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    assert run_cli(home, "destroy", REF, "-y").returncode == 0
    points = run_cli(home, "restore", NAME, env={"KUGETSU_TUI_KILL_AT": "5"})  # after the slot is reserved
    assert points.returncode == -9
    (mine,) = [s for s in json.loads(run_cli(home, "ls", "--json").stdout)["sessions"] if s["name"] == NAME]
    assert mine["state"] == "failed" and mine["error"].startswith("restore interrupted: ")
    dry = run_cli(home, "recover", "--dry-run")
    assert f"{NAME}: would roll back the restore" in dry.stdout and dev_files(home) == [f"{NAME}.json"]
    done = run_cli(home, "recover")
    assert done.returncode == 0 and "roll back the restore" in done.stdout
    assert dev_files(home) == [] and "INCOMPLETE" not in run_cli(home, "restore", "--list").stdout
    assert run_cli(home, "restore", NAME).returncode == 0


def test_two_racing_destroys_give_one_entry_and_one_clear_refusal(home):
    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    procs = [
        subprocess.Popen(
            [PY, "-m", "kugetsu_tui", "destroy", REF, "-y"],
            env=cli_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(60), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 1], results
    (refusal,) = [err for code, err in results if code == 1]
    assert "by another process" in refusal or "no session" in refusal
    assert len(list(home.archive_dir.iterdir())) == 1


def _another_process_runs_first(monkeypatch, *args: str) -> None:
    """Between this process's first look at the session and its taking the session's lock, another
    process runs `kugetsu-tui ARGS` to the end: the race of a key pressed twice, made certain."""
    from kugetsu_tui.lifecycle import journal

    real_lock = journal._lock
    ran: list[subprocess.CompletedProcess[str]] = []

    def lock_after_the_other(*lock_args):
        if not ran:
            ran.append(run_cli(*args))
            assert ran[0].returncode == 0, ran[0].stderr
        return real_lock(*lock_args)

    monkeypatch.setattr(journal, "_lock", lock_after_the_other)


def test_a_destroy_that_another_process_finished_first_is_refused_not_claimed(home, tmp_path, monkeypatch, capsys):
    """A record read before the lock may belong to a live destroy that then ends: only a record found
    under the lock was recovered by this destroy, so only then does it say it finished one."""
    from kugetsu_tui.cli.main import main

    trace = tmp_path / "trace"
    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    destroy_killed_at(home, trace, "entry in place")
    _another_process_runs_first(monkeypatch, home, "recover")  # it finishes that destroy, not we
    code = main(["--home", str(home.root), "destroy", REF, "-y"])
    err = capsys.readouterr().err
    assert code == 1 and "finished now" not in err, err
    assert len(list(home.archive_dir.iterdir())) == 1 and not home.journal_dir.exists()


def test_a_restore_that_another_process_finished_first_is_refused_not_claimed(home, monkeypatch, capsys):
    from kugetsu_tui.cli.main import main

    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    assert run_cli(home, "destroy", REF, "-y").returncode == 0
    _another_process_runs_first(monkeypatch, home, "restore", NAME)
    code = main(["--home", str(home.root), "restore", NAME])
    err = capsys.readouterr().err
    assert code == 1 and "another process restored it" in err, err
    assert dev_files(home) == [f"{NAME}.json"] and not home.journal_dir.exists()


def test_restore_list_shows_an_incomplete_entry_with_what_it_holds(home):
    entry = home.archive_dir / f"{NAME}--20260101T000000000000"
    entry.mkdir(parents=True)
    (entry / "export.json").write_text("{}")
    (entry / "meta.json").write_text(json.dumps({"name": NAME, "archived_at": "2026-01-01T00:00:00+00:00"}))
    listing = run_cli(home, "restore", "--list").stdout
    assert "INCOMPLETE: holds transcript; lacks session file" in listing


def test_a_destroy_killed_once_its_entry_is_complete_is_shown_interrupted_until_recovered(home, tmp_path):
    trace = tmp_path / "trace"
    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    destroy_killed_at(home, trace, "entry in place")
    assert dev_files(home) == [f"{NAME}.json"]
    (mine,) = [s for s in json.loads(run_cli(home, "ls", "--json").stdout)["sessions"] if s["name"] == NAME]
    assert mine["state"] == "failed" and mine["error"].startswith("destroy interrupted: ")
    assert "destroy interrupted: `kugetsu-tui recover`" in run_cli(home, "ls").stdout
    assert run_cli(home, "recover").returncode == 0
    assert dev_files(home) == [] and len(list(home.archive_dir.iterdir())) == 1
    assert all(s["name"] != NAME for s in json.loads(run_cli(home, "ls", "--json").stdout)["sessions"])


def test_destroying_again_a_session_whose_destroy_was_killed_finishes_it_and_says_so(home, tmp_path):
    trace = tmp_path / "trace"
    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    destroy_killed_at(home, trace, "session file removed")
    again = run_cli(home, "destroy", REF, "-y")
    assert again.returncode == 0, again.stderr
    assert "destroyed" in again.stdout and "interrupted: finished now" in again.stderr
    assert dev_files(home) == [] and not home.journal_dir.exists()


def test_an_unusable_intent_record_never_hangs_ls_and_recover_drops_it(home):
    import os

    home.journal_dir.mkdir()
    os.mkfifo(home.journal_dir / "fifo.json")  # opened blocking, `ls` would wait for a writer forever
    (home.journal_dir / "broken.json").write_text('{"op": "restore", "step": "placing"')
    (home.journal_dir / "handmade.json").write_text('{"op": "restore", "step": "placing"}')  # lacks its entry
    listing = run_cli(home, "ls", timeout=20)
    assert listing.returncode == 0 and "Traceback" not in listing.stderr
    done = run_cli(home, "recover", timeout=20)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr  # one it could not recover
    assert "fifo: dropped an unusable intent record" in done.stdout
    assert "broken: dropped an unusable intent record" in done.stdout
    assert "handmade: could not recover" in done.stdout
    assert not (home.journal_dir / "fifo.json").exists() and not (home.journal_dir / "broken.json").exists()


def test_a_corrupt_session_whose_restore_was_killed_after_its_copy_is_rolled_back(home, tmp_path):
    """A corrupt file is put back byte for byte, not as a `restoring` placeholder: recovery knows its copy."""
    trace = tmp_path / "trace"
    home.session_path(NAME).write_bytes(b'{"type": "forked", "state": ')
    assert run_cli(home, "destroy", NAME, "-y").returncode == 0
    at = fault_point_number(home, trace, "slot reserved", "restore", NAME)
    assert run_cli(home, "destroy", NAME, "-y").returncode == 0
    assert run_cli(home, "restore", NAME, env={"KUGETSU_TUI_KILL_AT": at}).returncode == -9
    assert dev_files(home) == [f"{NAME}.json"]  # the copy holds a slot
    done = run_cli(home, "recover")
    assert done.returncode == 0 and "roll back the restore" in done.stdout, done.stdout
    assert dev_files(home) == []
    assert run_cli(home, "restore", NAME).returncode == 0
    assert home.session_path(NAME).read_bytes() == b'{"type": "forked", "state": '


def test_a_failure_is_rolled_back_while_the_lock_is_still_held(home, monkeypatch):
    """Released first, the lock would let another operation on the session start before the rollback,
    which would then undo that operation's work (seen with a restore racing a failed one)."""
    import pytest

    from kugetsu_tui.base.errors import KugetsuError
    from kugetsu_tui.lifecycle import archive, recover
    from kugetsu_tui.sessions.intents import operation_running

    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    assert run_cli(home, "destroy", REF, "-y").returncode == 0
    held_during_rollback = []
    real = recover.recover_record

    def watched(home_, name):
        held_during_rollback.append(operation_running(home_, name))
        return real(home_, name)

    monkeypatch.setattr(recover, "recover_record", watched)
    monkeypatch.setattr(archive, "_import", lambda *a: (_ for _ in ()).throw(KugetsuError("import broke")))
    with pytest.raises(KugetsuError, match="import broke"):
        archive.restore_session(home, NAME)
    assert held_during_rollback == [True]
    assert dev_files(home) == [] and not home.journal_dir.exists()


def test_a_record_left_by_a_process_that_goes_on_is_recovered_in_that_process(home, monkeypatch):
    """Whether an operation runs is told by its lock, not its pid: the console outlives its failed ones."""
    import pytest

    from kugetsu_tui.lifecycle import archive
    from kugetsu_tui.lifecycle.recover import recover_all
    from kugetsu_tui.sessions import index

    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    assert run_cli(home, "destroy", REF, "-y").returncode == 0

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index, "add_entry", full)
    with pytest.raises(OSError):
        archive.restore_session(home, NAME)
    monkeypatch.undo()
    assert (home.journal_dir / f"{NAME}.json").exists()  # the last steps are left to recovery
    assert recover_all(home, only_done=True) == [f"{NAME}: finish restoring {NAME}"]
    assert dev_files(home) == [f"{NAME}.json"] and not home.journal_dir.exists()


def test_a_destroy_finished_long_after_its_kill_keeps_a_worktree_that_changed_since_it_was_saved(tmp_path):
    """Work done in the worktree between the kill and the recovery is in no entry: the worktree stays."""
    from tests.helpers import make_home
    from tests.unit.worktree_support import REPO_KEY, configure, make_repo

    home = make_home(tmp_path)
    configure(home, {REPO_KEY: str(make_repo(tmp_path / "widgets"))}, cwd=str(tmp_path))
    name, trace = "github.com-acme-widgets-5", tmp_path / "trace"
    assert run_cli(home, "start", "acme/widgets#5", "x").returncode == 0
    worktree = Path(wait_state(home, name, "idle")["worktree_path"])
    (worktree / "draft.txt").write_text("saved\n")
    at = fault_point_number(home, trace, "session file removed", "destroy", name, "-y")
    assert run_cli(home, "restore", name).returncode == 0 and (worktree / "draft.txt").exists()
    assert run_cli(home, "destroy", name, "-y", env={"KUGETSU_TUI_KILL_AT": at}).returncode == -9
    assert worktree.is_dir() and dev_files(home) == []
    (worktree / "after-the-kill.txt").write_text("written before anyone recovered\n")
    assert run_cli(home, "recover").returncode == 0
    assert (worktree / "after-the-kill.txt").read_text() == "written before anyone recovered\n"
    assert not home.journal_dir.exists()


def test_a_destroy_finished_by_recovery_removes_a_worktree_that_did_not_change(tmp_path):
    from tests.helpers import make_home
    from tests.unit.worktree_support import REPO_KEY, configure, make_repo

    home = make_home(tmp_path)
    configure(home, {REPO_KEY: str(make_repo(tmp_path / "widgets"))}, cwd=str(tmp_path))
    name, trace = "github.com-acme-widgets-6", tmp_path / "trace"
    assert run_cli(home, "start", "acme/widgets#6", "x").returncode == 0
    worktree = Path(wait_state(home, name, "idle")["worktree_path"])
    (worktree / "draft.txt").write_text("saved\n")
    destroy_killed_at(home, trace, "session file removed", name, name)
    assert run_cli(home, "recover").returncode == 0
    assert not worktree.exists()
    assert run_cli(home, "restore", name).returncode == 0 and (worktree / "draft.txt").read_text() == "saved\n"
