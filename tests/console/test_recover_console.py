"""The console recovers what a killed command left: no state outlives its process."""

from __future__ import annotations

from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.console.messages import ActionDone
from kugetsu_tui.lifecycle.archive import list_archive
from tests.helpers import Messages, demo_agent_config, dev_files, make_home, run_cli, wait_state, wait_until

NAME, REF = "github.com-shoko-kugetsu-49", "github.com/shoko/kugetsu#49"


async def test_a_restore_killed_mid_way_is_rolled_back_by_the_console_and_its_slot_freed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the base session is made, and where forks run
    home = make_home(tmp_path)
    demo_agent_config(home, seconds=0)
    assert run_cli(home, "start", REF, "x").returncode == 0
    wait_state(home, NAME, "idle")
    assert run_cli(home, "destroy", REF, "-y").returncode == 0
    killed = run_cli(home, "restore", NAME, env={"KUGETSU_TUI_KILL_AT": "5"})  # after the slot is reserved
    assert killed.returncode == -9 and dev_files(home) == [f"{NAME}.json"]  # a slot held by a dead restore
    app = KugetsuConsole(home, sample_processes=False, check_work=False, follow_activity=False)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(
            pilot, lambda: [m for m in messages.of(ActionDone) if m.action == "recover"], what="the recovery"
        )
        (done,) = [m.text for m in messages.of(ActionDone) if m.action == "recover"]
        assert done.startswith(f"recovered {NAME}: roll back the restore")
        await wait_until(pilot, lambda: app.model.active == 0, what="the slot to be freed")
    assert dev_files(home) == [] and not home.journal_dir.exists()
    (entry,) = list_archive(home)
    assert entry.missing() == []  # the entry is whole: restore brings it all back
    assert run_cli(home, "restore", NAME).returncode == 0


async def test_an_operation_in_progress_is_left_to_its_process(tmp_path, monkeypatch):
    """The console's tick runs recovery every few seconds: it must never touch a live operation."""
    from kugetsu_tui.lifecycle.journal import acquire

    monkeypatch.chdir(tmp_path)
    home = make_home(tmp_path)
    demo_agent_config(home, seconds=0)
    journal = acquire(home, NAME, "destroy")
    journal.write("saving", entry=f"{NAME}--20260101T000000000000")
    app = KugetsuConsole(home, sample_processes=False, check_work=False, follow_activity=False)
    messages = Messages()
    try:
        async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
            await app.main_screen.run_recover().wait()  # the one the mount started is replaced (exclusive)
            await pilot.pause()
            assert [m for m in messages.of(ActionDone) if m.action == "recover"] == []
            assert journal.path.exists()
    finally:
        journal.finish()
