"""destroy (stop, export, delete, archive) and restore, through the demo agent and its store."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess

import psutil
import pytest

from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.lifecycle import start as actions
from kugetsu_tui.lifecycle.archive import destroy_session, list_archive, restore_session
from kugetsu_tui.lifecycle.start import continue_session, start_session
from tests.helpers import (
    assert_one_line_error,
    demo_agent_config,
    demo_store,
    dev_files,
    pid_alive,
    read_index,
    read_json,
    run_cli,
    scripted_agent,
    session_data,
    store_ids,
    tree_listing,
    wait_for,
    wait_state,
    write_session,
)

NAME = "github.com-shoko-kugetsu-49"
REF = "github.com/shoko/kugetsu#49"
RUNTIME = ("pid", "pid_started", "supervisor_pid", "supervisor_started", "run_id", "starter_pid")
FAILING_EXPORT = scripted_agent(
    "import sys; print('Exporting...', file=sys.stderr); print('Error: export broke', file=sys.stderr); sys.exit(3)",
    "{session_id}",
)


def entries(home):
    return sorted(p.name for p in home.archive_dir.iterdir()) if home.archive_dir.is_dir() else []


def idle_session(home, **extra):
    start_session(home, REF, "first")
    data = wait_state(home, NAME, "idle")
    if extra:
        home.session_path(NAME).write_text(json.dumps({**data, **extra}))
        data = {**data, **extra}
    return data


# --- destroy -------------------------------------------------------------------------------------


def test_destroy_stops_the_tree_saves_the_transcript_deletes_archives_and_frees_the_slot(home, monkeypatch):
    monkeypatch.setenv("MAX_CONCURRENT_AGENTS", "1")
    demo_agent_config(home, seconds=60)
    start_session(home, REF, "long job")
    data = wait_state(home, NAME, "running")
    sid = data["opencode_session_id"]
    tree = [psutil.Process(data["supervisor_pid"]), *psutil.Process(data["supervisor_pid"]).children(recursive=True)]
    pids = {p.pid for p in tree}
    assert data["pid"] in pids and len(pids) >= 2 and all(pid_alive(p) for p in pids)
    assert sid in store_ids(demo_store(home))
    with pytest.raises(AtCapacityError):
        start_session(home, "shoko/kugetsu#50", "x")

    result = run_cli(home, "destroy", REF, "-y", env={"MAX_CONCURRENT_AGENTS": "1"})
    assert result.returncode == 0, result.stderr
    assert f"restore with: kugetsu-tui restore {NAME}" in result.stdout

    assert not any(pid_alive(p) for p in pids)
    (entry,) = entries(home)
    assert entry.startswith(f"{NAME}--")
    entry_dir = home.archive_dir / entry
    assert sorted(os.listdir(entry_dir)) == ["agent.log", "export.json", "meta.json", "session.json"]
    export = read_json(entry_dir / "export.json")
    assert export["info"]["id"] == sid and export["messages"][-1]["text"] == "long job"
    assert sid not in store_ids(demo_store(home))
    archived = read_json(entry_dir / "session.json")
    assert archived["issue_ref"] == REF and archived["opencode_session_id"] == sid
    meta = read_json(entry_dir / "meta.json")
    assert meta["name"] == NAME and meta["issue_ref"] == REF and meta["opencode_session_id"] == sid
    assert meta["exported"] is True and meta["kind"] == "dev"
    assert '"step_start"' in (entry_dir / "agent.log").read_text()
    assert not home.session_path(NAME).exists() and not (home.logs_dir / f"{NAME}.log").exists()
    assert REF not in read_index(home)["issues"]
    assert stat.S_IMODE(entry_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((entry_dir / "export.json").stat().st_mode) == 0o600

    demo_agent_config(home, seconds=0)
    start_session(home, "shoko/kugetsu#50", "the freed slot")


def test_destroy_accepts_the_ref_in_any_form_the_name_and_the_file_name(home):
    for target in ("https://github.com/shoko/kugetsu/issues/49", NAME, f"{NAME}.json", "shoko/kugetsu#49"):
        idle_session(home)
        destroy_session(home, target)
        assert dev_files(home) == []
    assert len(entries(home)) == 4


def test_an_export_failure_keeps_the_session_unless_forced(home):
    data = idle_session(home)
    sid = data["opencode_session_id"]
    demo_agent_config(home, export=FAILING_EXPORT)
    index_before = read_index(home)

    result = run_cli(home, "destroy", REF, "-y")
    line = assert_one_line_error(result, 1, "export", "Error: export broke", "--force", "kept")
    assert sid in line
    assert session_data(home, NAME)["opencode_session_id"] == sid
    assert read_index(home) == index_before
    assert sid in store_ids(demo_store(home))
    assert entries(home) == []

    result = run_cli(home, "destroy", REF, "-y", "--force")
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and "without a transcript" in result.stderr
    assert "Traceback" not in result.stderr
    (entry,) = entries(home)
    assert not (home.archive_dir / entry / "export.json").exists()
    assert read_json(home.archive_dir / entry / "meta.json")["exported"] is False
    assert sid not in store_ids(demo_store(home))  # delete still ran
    assert dev_files(home) == []


def test_an_export_that_prints_nothing_is_a_failure(home):
    idle_session(home)
    demo_agent_config(home, export=scripted_agent("pass"))
    result = run_cli(home, "destroy", REF, "-y")
    assert_one_line_error(result, 1, "printed nothing")
    assert dev_files(home) == [f"{NAME}.json"]


def test_an_export_program_that_is_missing_is_a_failure_too(home):
    idle_session(home)
    demo_agent_config(home, export=["/nonexistent/opencode", "export", "{session_id}"])
    result = run_cli(home, "destroy", REF, "-y")
    assert_one_line_error(result, 1, "not found", "--force")
    assert dev_files(home) == [f"{NAME}.json"]


def test_empty_export_and_delete_templates_turn_those_steps_off(home):
    sid = idle_session(home)["opencode_session_id"]
    demo_agent_config(home, export=[], delete=[])
    destroy_session(home, REF)
    (entry,) = entries(home)
    assert not (home.archive_dir / entry / "export.json").exists()
    assert sid in store_ids(demo_store(home))
    assert dev_files(home) == []


def test_a_failed_delete_is_a_warning_not_a_failure(home):
    idle_session(home)
    demo_agent_config(
        home, delete=scripted_agent("import sys; print('Error: db locked', file=sys.stderr); sys.exit(1)")
    )
    result = run_cli(home, "destroy", REF, "-y")
    assert result.returncode == 0
    assert "warning" in result.stderr and "Error: db locked" in result.stderr
    assert dev_files(home) == []


@pytest.mark.parametrize("target, flag, kind", [("base", "--base", "base"), ("pm-agent", "--pm-agent", "pm_agent")])
def test_base_and_pm_are_destroyed_only_with_their_flag(tmp_path, target, flag, kind):
    from tests.helpers import make_home

    home = make_home(tmp_path, pm=True)
    demo_agent_config(home)
    sid = read_json(home.sessions_dir / f"{target}.json")["opencode_session_id"]
    before = tree_listing(home.root.parent)
    for args in ((target, "-y"), (f"{target}.json", "-y"), (target, "-y", "--force")):
        result = run_cli(home, "destroy", *args)
        assert_one_line_error(result, 1, flag)
    assert tree_listing(home.root.parent) == before

    result = run_cli(home, "destroy", target, "-y", flag)
    assert result.returncode == 0, result.stderr
    assert not (home.sessions_dir / f"{target}.json").exists()
    assert read_index(home)[{"base": "base", "pm_agent": "pm_agent"}[kind]] is None
    assert sid not in store_ids(demo_store(home))
    assert len(entries(home)) == 1


@pytest.mark.parametrize("target", ["weird", "weird.json"])
def test_a_corrupt_file_is_destroyed_by_name_and_archived_byte_identical(home, target):
    content = b"\x00\xffnot json at all {\n"
    write_session(home, "weird", content)
    store_before = tree_listing(demo_store(home))
    result = run_cli(home, "destroy", target, "-y")
    assert result.returncode == 0, result.stderr
    (entry,) = entries(home)
    assert (home.archive_dir / entry / "session.json").read_bytes() == content
    meta = read_json(home.archive_dir / entry / "meta.json")
    assert meta["state"] == "corrupt" and meta["error"] and meta["exported"] is False
    assert dev_files(home) == []
    assert tree_listing(demo_store(home)) == store_before


@pytest.mark.timeout(30)
def test_a_corrupt_directory_or_fifo_session_is_archived_as_it_is(home):
    (home.sessions_dir / "dir.json").mkdir()
    (home.sessions_dir / "dir.json" / "inside").write_text("kept")
    os.mkfifo(home.sessions_dir / "fifo.json")
    assert run_cli(home, "destroy", "dir", "-y").returncode == 0
    assert run_cli(home, "destroy", "fifo.json", "-y").returncode == 0
    assert dev_files(home) == []
    archived = {
        read_json(home.archive_dir / e / "meta.json")["name"]: home.archive_dir / e / "session.json"
        for e in entries(home)
    }
    assert (archived["dir"] / "inside").read_text() == "kept"
    assert stat.S_ISFIFO(os.lstat(archived["fifo"]).st_mode)


def test_a_symlink_session_is_moved_into_the_archive_and_its_target_untouched(home, tmp_path):
    from tests.helpers import create_demo_session

    sid = create_demo_session(demo_store(home), "victim")
    target = tmp_path / "elsewhere" / "real.json"
    target.parent.mkdir()
    target.write_text(
        json.dumps({"type": "forked", "issue_ref": "github.com/a/b#1", "opencode_session_id": sid, "state": "idle"})
    )
    before = target.read_bytes()
    link = home.sessions_dir / "github.com-a-b-1.json"
    link.symlink_to(target)

    result = run_cli(home, "destroy", "a/b#1", "-y")
    assert result.returncode == 0, result.stderr
    (entry,) = entries(home)
    archived = home.archive_dir / entry / "session.json"
    assert archived.is_symlink() and os.readlink(archived) == str(target)
    assert target.read_bytes() == before
    assert not os.path.lexists(link)
    assert sid in store_ids(demo_store(home))  # a symlink's content is never trusted: no export, no delete


def test_destroy_without_y_and_no_terminal_keeps_everything(home):
    idle_session(home)
    before = tree_listing(home.root.parent)
    result = run_cli(home, "destroy", REF)
    assert_one_line_error(result, 1, "pass -y")
    assert tree_listing(home.root.parent) == before


def test_destroy_of_an_unknown_session_is_a_clear_error(home):
    result = run_cli(home, "destroy", "shoko/kugetsu#404", "-y")
    assert_one_line_error(result, 1, "no session", "'shoko/kugetsu#404'")
    result = run_cli(home, "destroy", "../sessions/base", "-y")
    assert_one_line_error(result, 1, "no session")
    assert (home.sessions_dir / "base.json").exists()


def test_destroy_of_a_start_interrupted_before_launch_frees_its_slot(home, monkeypatch):
    """A placeholder whose starter died (state starting, no pid) can be destroyed like any session."""
    monkeypatch.setenv("MAX_CONCURRENT_AGENTS", "1")
    write_session(
        home,
        NAME,
        {
            "type": "forked",
            "issue_ref": REF,
            "opencode_session_id": None,
            "state": "starting",
            "run_id": "dead",
            "starter_pid": 2**22 + 7,
        },
    )
    listing = json.loads(run_cli(home, "ls", "--json").stdout)
    (mine,) = [s for s in listing["sessions"] if s["name"] == NAME]
    assert mine["state"] == "failed" and "interrupted" in mine["error"]
    destroy_session(home, REF)
    start_session(home, "shoko/kugetsu#50", "x")


def test_destroy_during_the_launch_window_leaves_no_agent_running(home, monkeypatch, tmp_path):
    marker = tmp_path / "agent-ran"
    demo_agent_config(
        home,
        start=scripted_agent(
            "import pathlib, sys, time; pathlib.Path(sys.argv[1]).write_text('ran'); time.sleep(30)", str(marker)
        ),
        start_wait=0.2,
    )
    real_launch = actions.launch_supervised
    frozen = []

    def launch_and_freeze(*args, **kwargs):
        proc = real_launch(*args, **kwargs)
        os.kill(proc.pid, signal.SIGSTOP)  # the supervisor has not recorded anything yet
        frozen.append(proc.pid)
        return proc

    monkeypatch.setattr(actions, "launch_supervised", launch_and_freeze)
    try:
        start_session(home, REF, "x")
        destroy_session(home, REF)
        assert dev_files(home) == []
        try:
            os.kill(frozen[0], signal.SIGCONT)
        except ProcessLookupError:
            pass  # already stopped for good
        wait_for(lambda: marker.exists() or not pid_alive(frozen[0]), timeout=10, message="the supervisor to act")
        assert not marker.exists()
    finally:
        for pid in frozen:
            try:
                procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
            except psutil.Error:
                continue
            for proc in procs:
                try:
                    proc.kill()
                except psutil.Error:
                    pass


# --- restore -------------------------------------------------------------------------------------


def test_restore_brings_the_session_back_reimports_it_and_reindexes_it(home):
    data = idle_session(home, kugetsu_future={"kept": True})
    sid = data["opencode_session_id"]
    destroy_session(home, REF)
    (entry,) = entries(home)
    exported = read_json(home.archive_dir / entry / "export.json")
    assert sid not in store_ids(demo_store(home)) and REF not in read_index(home)["issues"]

    result = run_cli(home, "restore", NAME)
    assert result.returncode == 0, result.stderr
    assert f"restored {NAME}" in result.stdout
    restored = session_data(home, NAME)
    assert restored["state"] == "idle" and restored["opencode_session_id"] == sid
    assert restored["issue_ref"] == REF and restored["kugetsu_future"] == {"kept": True}
    assert not any(key in restored for key in RUNTIME)
    assert stat.S_IMODE(home.session_path(NAME).stat().st_mode) == 0o600
    assert sid in store_ids(demo_store(home))
    assert read_json(demo_store(home) / f"{sid}.json") == exported
    assert read_index(home)["issues"][REF] == f"{NAME}.json"
    assert entries(home) == []
    assert '"step_finish"' in (home.logs_dir / f"{NAME}.log").read_text()

    continue_session(home, REF, "after restore")
    wait_state(home, NAME, "idle")
    messages = read_json(demo_store(home) / f"{sid}.json")["messages"]
    assert [m["text"] for m in messages if m["role"] == "user"][-1] == "after restore"


def test_restore_at_capacity_exits_2_and_leaves_the_archive_entry_intact(home):
    idle_session(home)
    sid = session_data(home, NAME)["opencode_session_id"]
    destroy_session(home, REF)
    for name in ("issue-1", "issue-2", "issue-3"):
        write_session(home, name)
    archive_before = tree_listing(home.archive_dir)
    store_before = tree_listing(demo_store(home))
    result = run_cli(home, "restore", NAME)
    assert_one_line_error(result, 2, "maximum concurrent agents (3) reached (3/3 active)", NAME)
    assert tree_listing(home.archive_dir) == archive_before
    assert tree_listing(demo_store(home)) == store_before and sid not in store_ids(demo_store(home))
    assert not home.session_path(NAME).exists()


def test_restore_of_an_unknown_name_exits_1(home):
    result = run_cli(home, "restore", "github.com-nobody-nothing-1")
    assert_one_line_error(result, 1, "nothing archived", "'github.com-nobody-nothing-1'")


def test_restore_refuses_when_the_name_is_in_use_again(home):
    idle_session(home)
    destroy_session(home, REF)
    archive_before = tree_listing(home.archive_dir)
    idle_session(home)
    result = run_cli(home, "restore", REF)
    assert_one_line_error(result, 1, "exists again")
    assert tree_listing(home.archive_dir) == archive_before


def test_a_failed_import_leaves_the_entry_in_the_archive_and_no_session(home):
    idle_session(home)
    destroy_session(home, REF)
    archive_before = tree_listing(home.archive_dir)
    demo_agent_config(
        home,
        **{
            "import": scripted_agent(
                "import sys; print('Error: bad export', file=sys.stderr); sys.exit(2)", "{export_file}"
            )
        },
    )
    result = run_cli(home, "restore", NAME)
    assert_one_line_error(result, 1, "import", "Error: bad export", "stays in the archive")
    assert tree_listing(home.archive_dir) == archive_before
    assert dev_files(home) == []
    assert REF not in read_index(home)["issues"]


def test_restore_of_a_corrupt_or_symlinked_session_puts_it_back_as_it_was(home, tmp_path):
    write_session(home, "weird", b"{garbage")
    (tmp_path / "t.json").write_text("{}")
    (home.sessions_dir / "link.json").symlink_to(tmp_path / "t.json")
    destroy_session(home, "weird")
    destroy_session(home, "link")
    assert dev_files(home) == []
    restore_session(home, "weird")
    restore_session(home, "link.json")
    assert (home.sessions_dir / "weird.json").read_bytes() == b"{garbage"
    assert os.readlink(home.sessions_dir / "link.json") == str(tmp_path / "t.json")
    assert (tmp_path / "t.json").read_text() == "{}"
    assert entries(home) == []


def test_restore_picks_the_latest_entry_and_accepts_an_entry_id(home):
    idle_session(home, generation=1)
    destroy_session(home, REF)
    idle_session(home, generation=2)
    destroy_session(home, REF)
    first, second = [e.id for e in list_archive(home)]
    restore_session(home, "shoko/kugetsu#49")
    assert session_data(home, NAME)["generation"] == 2
    destroy_session(home, REF)
    restore_session(home, first)
    assert session_data(home, NAME)["generation"] == 1


def test_restore_list_shows_the_archive(home):
    assert run_cli(home, "restore", "--list").stdout.strip() == "the archive is empty"
    idle_session(home)
    destroy_session(home, REF)
    result = run_cli(home, "restore", "--list")
    assert result.returncode == 0 and REF in result.stdout and f"{NAME}--" in result.stdout


def test_restore_of_a_base_session_is_not_capped(tmp_path, monkeypatch):
    from tests.helpers import make_home

    home = make_home(tmp_path)
    demo_agent_config(home)
    destroy_session(home, "base", allow_base=True)
    monkeypatch.setenv("MAX_CONCURRENT_AGENTS", "1")
    write_session(home, "issue-1")
    restore_session(home, "base")
    assert read_index(home)["base"] == read_json(home.sessions_dir / "base.json")["opencode_session_id"]


def test_restore_under_the_cap_counts_the_restored_session(home, monkeypatch):
    idle_session(home)
    destroy_session(home, REF)
    monkeypatch.setenv("MAX_CONCURRENT_AGENTS", "1")
    restore_session(home, REF)
    with pytest.raises(AtCapacityError):
        start_session(home, "shoko/kugetsu#50", "x")
    with pytest.raises(KugetsuError):
        restore_session(home, REF)


# --- found by a review as a new user ----------------------------------------------------------------


def test_a_pid_without_its_recorded_start_time_is_never_signalled(home):
    """A session file is untrusted: a bare pid may name any process, so destroy leaves it alone."""
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        write_session(home, NAME, {"type": "forked", "issue_ref": REF, "state": "running", "pid": bystander.pid})
        assert run_cli(home, "ls", "--json").returncode == 0
        listed = json.loads(run_cli(home, "ls", "--json").stdout)["sessions"]
        assert [s["alive"] for s in listed if s["name"] == NAME] == [False]
        result = run_cli(home, "destroy", REF, "-y")
        assert result.returncode == 0, result.stderr
        assert bystander.poll() is None  # still running
        write_session(
            home,
            "github.com-shoko-kugetsu-8",
            {"type": "forked", "state": "running", "pid": bystander.pid, "pid_started": 12345.0},
        )
        assert run_cli(home, "destroy", "github.com-shoko-kugetsu-8", "-y").returncode == 0
        assert bystander.poll() is None  # a start time that does not match is no better
    finally:
        bystander.kill()
        bystander.wait()


def test_a_refused_destroy_leaves_a_running_agent_running(home):
    demo_agent_config(home, seconds=30)
    start_session(home, REF, "long work")
    data = wait_for(lambda: (d := session_data(home, NAME)).get("state") == "running" and d.get("pid") and d)
    demo_agent_config(home, seconds=30, export=FAILING_EXPORT)
    result = run_cli(home, "destroy", REF, "-y")
    assert_one_line_error(result, 1, "export", "nothing was changed")
    assert pid_alive(data["pid"])
    assert session_data(home, NAME)["state"] == "running"
    assert entries(home) == []


def test_force_goes_past_a_missing_delete_program_and_leaves_a_whole_entry(home):
    idle_session(home)
    demo_agent_config(
        home, export=FAILING_EXPORT, delete=["/nonexistent/opencode", "session", "delete", "{session_id}"]
    )
    result = run_cli(home, "destroy", REF, "-y", "--force")
    assert result.returncode == 0, result.stderr
    assert "was not deleted" in result.stderr
    (entry,) = list_archive(home)
    assert (entry.path / "session.json").exists() and entry.meta["deleted_from_opencode"] is False


def test_a_directory_without_a_session_file_is_not_an_archive_entry(home):
    (home.archive_dir / "github.com-shoko-kugetsu-7--20260101T000000000000").mkdir(parents=True)
    assert list_archive(home) == []
    assert run_cli(home, "restore", "--list").stdout.strip() == "the archive is empty"


def test_a_session_restored_without_its_transcript_says_it_is_broken(home):
    data = idle_session(home)
    demo_agent_config(home, export=FAILING_EXPORT)
    assert run_cli(home, "destroy", REF, "-y", "--force").returncode == 0  # exported nothing, deleted it
    result = run_cli(home, "restore", NAME)
    assert result.returncode == 0, result.stderr
    assert "warning: restored without a transcript" in result.stderr
    restored = session_data(home, NAME)
    assert restored["state"] == "failed" and data["opencode_session_id"] in restored["error"]
    assert "exit_code" not in restored and "finished_at" not in restored  # the old run's outcome is gone
