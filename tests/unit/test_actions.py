"""start and continue through real subprocesses: our supervisor and the demo agent."""

from __future__ import annotations

import json
import os
import signal
import stat
from datetime import datetime

import psutil
import pytest

from kugetsu_tui.base.errors import AtCapacityError, KugetsuError
from kugetsu_tui.lifecycle import start as actions
from kugetsu_tui.lifecycle.start import continue_session, start_session
from kugetsu_tui.opencode.directories import run_directory
from tests.helpers import (
    PY,
    REPORT_THEN_EXIT,
    SEED_DEV_NAMES,
    assert_one_line_error,
    base_id,
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


def files_only(root):
    """File contents under root, without directories and the lock file (a rolled-back start may leave
    empty logs/ and archive/ directories and sessions/.lock; the index is rewritten with mode 0600)."""
    return {k: (v[0], v[2]) for k, v in tree_listing(root).items() if v[0] != "dir" and not k.endswith(".lock")}


# --- a successful start --------------------------------------------------------------------------


def test_start_writes_the_session_runs_the_agent_and_records_its_outcome(home):
    demo_agent_config(home, seconds=1.5)
    launched = start_session(home, "https://github.com/shoko/kugetsu/issues/49", "fix the cap")
    data = session_data(home, NAME)

    assert (launched.name, launched.issue_ref) == (NAME, REF)
    assert data["type"] == "forked" and data["issue_ref"] == REF
    sid = data["opencode_session_id"]
    assert sid == launched.opencode_session_id and sid.startswith("ses_") and sid != base_id(home)
    forked = read_json(demo_store(home) / f"{sid}.json")  # the agent really forked the base session
    assert forked["info"]["parentID"] == base_id(home)
    assert forked["messages"][-1] == {"role": "user", "text": "fix the cap"}
    datetime.fromisoformat(data["created_at"])

    assert data["state"] == "running"
    assert data["pid"] == launched.pid and pid_alive(data["pid"])
    assert "kugetsu_tui.demo.agent" in " ".join(psutil.Process(data["pid"]).cmdline())
    assert data["log"] == str(home.logs_dir / f"{NAME}.log") == launched.log
    assert read_index(home)["issues"] == {REF: f"{NAME}.json"}

    done = wait_state(home, NAME, "idle")
    assert done["exit_code"] == 0 and done["opencode_session_id"] == sid
    assert not pid_alive(done["pid"])
    log = (home.logs_dir / f"{NAME}.log").read_text()
    assert '"step_start"' in log and '"step_finish"' in log and sid in log
    for path in (home.session_path(NAME), home.logs_dir / f"{NAME}.log", home.index_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (home.logs_dir, home.archive_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_cli_start_prints_the_session_and_exits_0(home):
    result = run_cli(home, "start", "shoko/kugetsu#49", "hello")
    assert result.returncode == 0, result.stderr
    sid = session_data(home, NAME)["opencode_session_id"]
    assert result.stdout.startswith(f"started {REF} as {NAME} (opencode session {sid}")
    assert result.stderr == ""


def test_the_agent_runs_detached_in_its_own_session(home):
    demo_agent_config(home, seconds=5)
    start_session(home, REF, "x")
    data = session_data(home, NAME)
    assert os.getsid(data["supervisor_pid"]) == data["supervisor_pid"] != os.getsid(0)
    assert psutil.Process(data["pid"]).ppid() == data["supervisor_pid"]


def test_start_waits_briefly_for_the_id_and_the_supervisor_records_it_later(home):
    demo_agent_config(
        home,
        start=scripted_agent("import time; time.sleep(1.2); " + REPORT_THEN_EXIT, "0", "0", "ses_late"),
        start_wait=0.2,
    )
    launched = start_session(home, REF, "x")
    assert launched.opencode_session_id is None and launched.state in ("starting", "running")
    assert session_data(home, NAME)["opencode_session_id"] is None
    data = wait_state(home, NAME, "idle")
    assert data["opencode_session_id"] == "ses_late"


def test_a_fresh_session_gets_a_fresh_log(home):
    home.ensure(home.logs_dir)
    (home.logs_dir / f"{NAME}.log").write_text("OLD LOG OF A PREVIOUS SESSION\n")
    start_session(home, REF, "x")
    wait_state(home, NAME, "idle")
    assert "OLD LOG" not in (home.logs_dir / f"{NAME}.log").read_text()


# --- refusals before anything is written ---------------------------------------------------------


@pytest.mark.parametrize("existing", ["session", "corrupt", "symlink"])
def test_a_ref_that_already_has_a_session_is_refused_with_a_hint_to_continue(home, tmp_path, existing):
    if existing == "session":
        start_session(home, REF, "first")
        wait_state(home, NAME, "idle")
    elif existing == "corrupt":
        write_session(home, NAME, b"{broken")
    else:
        (tmp_path / "target.json").write_text("{}")
        home.session_path(NAME).symlink_to(tmp_path / "target.json")
    before = tree_listing(home.root.parent)
    with pytest.raises(KugetsuError) as caught:
        start_session(home, "shoko/kugetsu#49", "again")
    assert not isinstance(caught.value, AtCapacityError)
    assert "already has a session" in str(caught.value)
    assert f"kugetsu-tui continue {REF}" in str(caught.value)
    result = run_cli(home, "start", "https://github.com/shoko/kugetsu/issues/49", "again")
    assert_one_line_error(result, 1, "already has a session", "continue")
    assert tree_listing(home.root.parent) == before


def test_at_capacity_exit_2_with_the_exact_refusal_and_nothing_written(home):
    """Nothing but the refusal's line in the slot ledger (and the sessions lock it took to confirm it)."""
    for name in SEED_DEV_NAMES:
        write_session(home, name)

    def listing():
        kept = tree_listing(home.root.parent)
        return {
            k: v
            for k, v in kept.items()
            if k not in (f"{home.root.name}/ledger.jsonl", f"{home.root.name}/sessions/.lock")
        }

    before = listing()
    result = run_cli(home, "start", "shoko/kugetsu#57", "hello")
    assert result.returncode == 2
    assert result.stderr == (
        "kugetsu-tui: Cannot start dev session for github.com/shoko/kugetsu#57: maximum "
        "concurrent agents (3) reached (3/3 active). Destroy a finished session first.\n"
    )
    assert result.stdout == ""
    assert listing() == before
    with pytest.raises(AtCapacityError, match=r"maximum concurrent agents \(3\) reached"):
        start_session(home, "shoko/kugetsu#57", "hello")
    assert listing() == before
    refused = [json.loads(line) for line in (home.root / "ledger.jsonl").read_text().splitlines()]
    assert [(e["event"], e["session"]) for e in refused] == [("refused_at_capacity", "github.com-shoko-kugetsu-57")] * 2


def test_unparseable_files_hold_slots_too(home, tmp_path):
    write_session(home, "broken", b"{")
    (home.sessions_dir / "dir.json").mkdir()
    (tmp_path / "t.json").write_text("{}")
    (home.sessions_dir / "link.json").symlink_to(tmp_path / "t.json")
    result = run_cli(home, "start", "shoko/kugetsu#1", "x")
    assert_one_line_error(result, 2, "maximum concurrent agents (3) reached (3/3 active)")


@pytest.mark.parametrize("limit, active", [("1", 1), ("2", 3), ("5", 5)])
def test_the_refusal_names_the_limit_in_force(home, limit, active):
    for i in range(active):
        write_session(home, f"issue-{i}")
    result = run_cli(home, "start", "shoko/kugetsu#1", "x", env={"MAX_CONCURRENT_AGENTS": limit})
    assert_one_line_error(result, 2, f"maximum concurrent agents ({limit}) reached ({active}/{limit} active)")
    assert len(dev_files(home)) == active


def test_base_pm_and_hidden_files_take_no_slot(home):
    write_session(home, "pm-agent", {"type": "pm_agent", "opencode_session_id": "ses_pm"})
    for hidden in (".github.com-a-b-1.json.x1.tmp", ".lock", ".hidden.json"):
        (home.sessions_dir / hidden).write_text("{}")
    write_session(home, "github.com-shoko-kugetsu-14")
    result = run_cli(home, "start", "shoko/kugetsu#49", "x", env={"MAX_CONCURRENT_AGENTS": "2"})
    assert result.returncode == 0, result.stderr
    assert dev_files(home) == ["github.com-shoko-kugetsu-14.json", f"{NAME}.json"]


def test_no_base_session_is_a_clear_error_naming_what_to_do(home):
    (home.sessions_dir / "base.json").unlink()
    before = tree_listing(home.root.parent)
    result = run_cli(home, "start", REF, "x")
    assert_one_line_error(result, 1, "no base session", "kugetsu init", "base.json")
    assert tree_listing(home.root.parent) == before


@pytest.mark.parametrize("content", [b"{broken", b'{"type": "base", "state": "idle"}', b'{"opencode_session_id": 5}'])
def test_a_base_session_without_an_id_is_a_clear_error(home, content):
    (home.sessions_dir / "base.json").write_bytes(content)
    result = run_cli(home, "start", REF, "x")
    assert_one_line_error(result, 1, "base session", "opencode_session_id")
    assert dev_files(home) == []


@pytest.mark.parametrize("program", ["/nonexistent/agent-binary", "no-such-agent-xyz"])
def test_an_agent_program_that_does_not_exist_is_refused_before_any_side_effect(home, program):
    demo_agent_config(home, start=[program, "run", "--session", "{base_session_id}", "{message}"])
    before = tree_listing(home.root.parent)
    result = run_cli(home, "start", REF, "x")
    assert_one_line_error(result, 1, repr(program), "not found", "[agent] start")
    assert tree_listing(home.root.parent) == before


def test_the_default_opencode_agent_missing_from_path_names_the_key_to_set(home, tmp_path):
    home.config_toml.unlink()
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = run_cli(home, "start", REF, "x", env={"PATH": str(empty)})
    assert_one_line_error(result, 1, "'opencode' not found on PATH", "[agent] start", "config.toml")
    assert dev_files(home) == []


# --- launch failure rolls everything back ----------------------------------------------------------


def test_a_failing_agent_is_rolled_back_and_its_stderr_reported(home):
    demo_agent_config(home, fail=True)
    index_before = read_index(home)
    files_before = files_only(home.root.parent)
    with pytest.raises(KugetsuError) as caught:
        start_session(home, REF, "x")
    assert "simulated failure" in str(caught.value) and "Cannot start dev session" in str(caught.value)
    assert dev_files(home) == []
    assert read_index(home) == index_before
    assert not (home.logs_dir / f"{NAME}.log").exists()
    # Only the directory guard's cache of what opencode said about the base session may be new: a fact
    # learned before admission, not state of the failed start; and the slot ledger, which records it.
    learned = {"home/session-dirs.json", "home/ledger.jsonl"}
    assert {k: v for k, v in files_only(home.root.parent).items() if k not in learned} == files_before
    slots = [json.loads(line) for line in (home.root / "ledger.jsonl").read_text().splitlines()]
    assert [(e["event"], e["active"]) for e in slots if e["event"] != "activity_changed"] == [
        ("admitted", 1),
        ("released", 0),
    ]

    result = run_cli(home, "start", REF, "x")
    assert_one_line_error(result, 1, "simulated failure")
    assert dev_files(home) == [] and read_index(home) == index_before
    assert {k: v for k, v in files_only(home.root.parent).items() if k not in learned} == files_before


def test_an_agent_that_cannot_be_executed_is_rolled_back(home, tmp_path):
    script = tmp_path / "not-executable-agent"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    demo_agent_config(home, start=[str(script), "{message}"])
    index_before = read_index(home)
    result = run_cli(home, "start", REF, "x")
    assert_one_line_error(result, 1, "Permission denied")
    assert dev_files(home) == [] and read_index(home) == index_before
    assert not (home.logs_dir / f"{NAME}.log").exists()


def test_the_error_is_the_agents_own_last_words(home):
    demo_agent_config(
        home,
        start=scripted_agent(
            "import sys; print('loading config...', file=sys.stderr); "
            "print('Error: provider rejected the API key', file=sys.stderr); sys.exit(4)"
        ),
    )
    result = run_cli(home, "start", REF, "x")
    line = assert_one_line_error(result, 1, "Error: provider rejected the API key")
    assert "loading config" not in line
    assert dev_files(home) == []


def test_an_agent_error_event_is_reported(home):
    event = {
        "type": "error",
        "sessionID": None,
        "error": {"name": "UnknownError", "data": {"message": "Session not found"}},
    }
    demo_agent_config(home, start=scripted_agent(f"import sys; print({json.dumps(json.dumps(event))}); sys.exit(1)"))
    result = run_cli(home, "start", REF, "x")
    assert_one_line_error(result, 1, "Session not found")
    assert dev_files(home) == []


def test_a_start_whose_placeholder_was_replaced_meanwhile_never_deletes_the_newcomer(home, monkeypatch):
    """Roll-back is guarded by the run id: it removes only its own placeholder."""
    real_launch = actions.launch_supervised

    def replace_then_fail(h, name, run_id, argv, cwd):
        write_session(h, name, {"type": "forked", "issue_ref": REF, "run_id": "someone-else", "state": "idle"})
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(actions, "launch_supervised", replace_then_fail)
    with pytest.raises(KugetsuError, match="Too many open files"):
        start_session(home, REF, "x")
    assert session_data(home, NAME)["run_id"] == "someone-else"
    monkeypatch.setattr(actions, "launch_supervised", real_launch)


# --- a failed agent is recorded after the CLI has gone ------------------------------------------


def test_a_failed_agent_ends_in_state_failed_with_its_exit_code_after_the_cli_exited(home):
    demo_agent_config(home, start=scripted_agent(REPORT_THEN_EXIT, "1.0", "3", "ses_failing"))
    result = run_cli(home, "start", REF, "x")
    assert result.returncode == 0, result.stderr
    assert "ses_failing" in result.stdout
    now = session_data(home, NAME)
    assert now["state"] == "running" and now["opencode_session_id"] == "ses_failing"
    data = wait_state(home, NAME, "failed")
    assert data["exit_code"] == 3 and "status 3" in data["error"]
    assert data["opencode_session_id"] == "ses_failing"
    listing = json.loads(run_cli(home, "ls", "--json").stdout)
    mine = [s for s in listing["sessions"] if s["name"] == NAME][0]
    assert mine["state"] == "failed" and mine["alive"] is False and "status 3" in mine["error"]
    assert listing["active"] == 1  # a failed session still holds its slot until destroyed


# --- continue --------------------------------------------------------------------------------------


def _started(home):
    start_session(home, REF, "first")
    return wait_state(home, NAME, "idle")


def test_continue_at_capacity_works_and_is_not_counted(home):
    first = _started(home)
    for name in ("github.com-shoko-kugetsu-14", "issue-2"):
        write_session(home, name)
    files, index_before = dev_files(home), read_index(home)
    assert len(files) == 3
    assert run_cli(home, "start", "shoko/kugetsu#99", "x").returncode == 2

    result = run_cli(home, "continue", REF, "second message")
    assert result.returncode == 0, result.stderr
    assert f"continued {NAME}" in result.stdout
    data = wait_state(home, NAME, "idle")
    assert data["run_id"] != first["run_id"] and data["pid"] != first["pid"]
    assert data["opencode_session_id"] == first["opencode_session_id"]
    messages = read_json(demo_store(home) / f"{first['opencode_session_id']}.json")["messages"]
    assert [m["text"] for m in messages if m["role"] == "user"][-2:] == ["first", "second message"]
    assert dev_files(home) == files and read_index(home) == index_before


def test_continue_without_a_message_sends_continue_and_accepts_the_session_name(home):
    first = _started(home)
    continue_session(home, NAME)
    wait_state(home, NAME, "idle")
    messages = read_json(demo_store(home) / f"{first['opencode_session_id']}.json")["messages"]
    assert [m["text"] for m in messages if m["role"] == "user"][-1] == "continue"


def test_continue_keeps_unknown_fields(home):
    _started(home)
    data = session_data(home, NAME)
    home.session_path(NAME).write_text(json.dumps({**data, "kugetsu_future": {"a": 1}}))
    continue_session(home, REF, "more")
    assert wait_state(home, NAME, "idle")["kugetsu_future"] == {"a": 1}


def test_continue_refuses_a_session_whose_agent_still_runs(home):
    _started(home)
    demo_agent_config(home, seconds=30)
    continue_session(home, REF, "busy")
    running = wait_state(home, NAME, "running")
    before = home.session_path(NAME).read_bytes()
    result = run_cli(home, "continue", REF, "again")
    assert_one_line_error(result, 1, "still running", str(running["pid"]))
    assert home.session_path(NAME).read_bytes() == before


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"{broken", "unusable"),
        (b"[1, 2]", "unusable"),
        (json.dumps({"type": "forked", "issue_ref": REF, "state": "idle"}).encode(), "no opencode session id"),
    ],
)
def test_continue_refuses_a_session_it_cannot_use(home, content, needle):
    write_session(home, NAME, content)
    result = run_cli(home, "continue", REF, "x")
    assert_one_line_error(result, 1, needle)
    assert home.session_path(NAME).read_bytes() == content


def test_continue_of_an_unknown_session_is_a_clear_error(home):
    result = run_cli(home, "continue", "shoko/kugetsu#404")
    assert_one_line_error(result, 1, "no session", "kugetsu-tui ls")


def test_continue_with_a_failing_agent_records_failed(home):
    _started(home)
    demo_agent_config(home, fail=True)
    with pytest.raises(KugetsuError, match="the agent failed: Error: simulated failure"):
        continue_session(home, REF, "x")  # a launch that fails is an error, not "continued"
    data = wait_state(home, NAME, "failed")
    assert data["exit_code"] == 1 and dev_files(home) == [f"{NAME}.json"]  # the session itself is kept


def test_a_second_continue_while_the_first_is_still_launching_is_refused(home, monkeypatch):
    _started(home)
    demo_agent_config(home, seconds=30)
    real_launch = actions.launch_supervised
    stopped = []

    def launch_and_freeze(*args, **kwargs):
        proc = real_launch(*args, **kwargs)
        os.kill(proc.pid, signal.SIGSTOP)  # the supervisor has not recorded anything yet
        stopped.append(proc.pid)
        return proc

    monkeypatch.setattr(actions, "launch_supervised", launch_and_freeze)
    try:
        continue_session(home, REF, "one")
        assert session_data(home, NAME)["state"] == "starting"
        with pytest.raises(KugetsuError):
            continue_session(home, REF, "two")
    finally:
        for pid in stopped:
            _kill_tree(pid)


def _kill_tree(pid):
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=3)


def test_the_launch_scripts_use_the_running_interpreter(home):
    """The supervisor runs under the same Python, so it finds the package wherever it is installed."""
    demo_agent_config(home, seconds=5)
    start_session(home, REF, "x")
    data = session_data(home, NAME)
    cmdline = psutil.Process(data["supervisor_pid"]).cmdline()
    assert os.path.realpath(cmdline[0]) == os.path.realpath(PY)
    assert cmdline[1:3] == ["-m", "kugetsu_tui.lifecycle.supervisor"]
    wait_for(lambda: store_ids(demo_store(home)) >= {data["opencode_session_id"]}, message="store entry")


def test_a_session_keeps_the_directory_it_was_started_in(home, tmp_path, monkeypatch):
    """opencode only continues a session from its own directory: the console may run elsewhere."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(project)
    # The base session belongs to the project (the directory guard refuses a fork from anywhere else).
    base_file = demo_store(home) / f"{base_id(home)}.json"
    base = read_json(base_file)
    base["info"]["directory"] = str(project)
    base_file.write_text(json.dumps(base))
    _started(home)
    assert session_data(home, NAME)["cwd"] == str(project)
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("PWD", str(elsewhere))
    continue_session(home, NAME, "from elsewhere")
    wait_state(home, NAME, "idle")
    assert run_directory(session_data(home, NAME), actions.load_agent_config(home)) == str(project)


def test_a_message_that_looks_like_an_option_reaches_the_agent(home):
    start_session(home, REF, "--help me")
    data = wait_state(home, NAME, "idle")
    messages = read_json(demo_store(home) / f"{data['opencode_session_id']}.json")["messages"]
    assert [m["text"] for m in messages if m["role"] == "user"][-1] == "--help me"
