"""Interrupted operations: shown as such, recovered by `recover`, and one destroy per session."""

from __future__ import annotations

import json
import subprocess

from tests.helpers import PY, cli_env, dev_files, run_cli, wait_state

NAME, REF = "github.com-shoko-kugetsu-49", "github.com/shoko/kugetsu#49"


def test_a_killed_restore_is_shown_interrupted_and_recover_puts_it_back(home):
    run_cli(home, "start", REF, "x")
    wait_state(home, NAME, "idle")
    assert run_cli(home, "destroy", REF, "-y").returncode == 0
    points = run_cli(home, "restore", NAME, env={"KUGETSU_TUI_KILL_AT": "5"})  # after the slot is reserved
    assert points.returncode == -9
    (mine,) = [s for s in json.loads(run_cli(home, "ls", "--json").stdout)["sessions"] if s["name"] == NAME]
    assert mine["state"] == "failed" and "restore was interrupted" in mine["error"]
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
    assert (
        run_cli(
            home, "destroy", REF, "-y", env={"KUGETSU_TUI_KILL_AT": "0", "KUGETSU_TUI_FAULT_TRACE": str(trace)}
        ).returncode
        == 0
    )
    (at,) = [line.split()[0] for line in trace.read_text().splitlines() if line.endswith(" entry in place")]
    assert run_cli(home, "restore", NAME).returncode == 0
    killed = run_cli(home, "destroy", REF, "-y", env={"KUGETSU_TUI_KILL_AT": at})
    assert killed.returncode == -9 and dev_files(home) == [f"{NAME}.json"]
    (mine,) = [s for s in json.loads(run_cli(home, "ls", "--json").stdout)["sessions"] if s["name"] == NAME]
    assert mine["state"] == "failed" and "destroy was interrupted" in mine["error"]
    assert "destroy was interrupted" in run_cli(home, "ls").stdout
    assert run_cli(home, "recover").returncode == 0
    assert dev_files(home) == [] and len(list(home.archive_dir.iterdir())) == 1
    assert all(s["name"] != NAME for s in json.loads(run_cli(home, "ls", "--json").stdout)["sessions"])
