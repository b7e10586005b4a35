"""A full disk (a small tmpfs, as root) at every command that writes: start, park, resume, destroy, restore,
queue add and limit fail with one line and exit 1, lose nothing, and work once there is room again."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import demo_agent_config, demo_store, make_home, run_cli, store_ids, wait_state

NAME, REF = "github.com-shoko-kugetsu-49", "github.com/shoko/kugetsu#49"


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the full-disk test needs root (mount -t tmpfs), which CI has")
        pytest.skip("needs root to mount a tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk, slack):
    """Fill the disk, then free `slack` bytes: the next write of more than that fails with ENOSPC."""
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - slack))


def test_a_full_disk_at_each_writing_command_loses_nothing(small_disk):
    home = make_home(small_disk)
    demo_agent_config(home, cwd=os.getcwd())  # where the base session was made: forks run there
    commands = [
        ("start", REF, "x"),
        ("park", NAME),
        ("resume", NAME),
        ("destroy", REF, "-y"),
        ("restore", NAME),
        ("queue", "add", REF, "y"),
        ("limit", "2"),
    ]
    cases = failures = 0
    for slack in (0, 2048, 8192, 32768):
        for command in commands:
            fill(small_disk, slack)
            result = run_cli(home, *command)
            (small_disk / "filler").unlink()
            cases += 1
            assert result.returncode in (0, 1), (command, slack, result.stderr)
            assert "Traceback" not in result.stderr
            if result.returncode == 1:
                failures += 1
                assert len(result.stderr.splitlines()) == 1, result.stderr
                again = run_cli(home, *command)  # the same command works once there is room
                assert again.returncode == 0, (command, slack, again.stderr)
            if command[0] == "start":
                sid = wait_state(home, NAME, "idle")["opencode_session_id"]
            if command[0] == "destroy":
                (entry,) = [p for p in home.archive_dir.iterdir() if not p.name.startswith(".")]
                assert (entry / "export.json").exists() and sid not in store_ids(demo_store(home))
            if command[0] in ("park", "resume"):  # the file is in exactly one place, and the right one
                assert home.session_path(NAME).exists() == (command[0] == "resume")
                assert (home.parked_dir / f"{NAME}.json").exists() == (command[0] == "park")
            if command[0] == "restore":
                assert home.session_path(NAME).exists() and sid in store_ids(demo_store(home))
                assert [p for p in home.archive_dir.iterdir()] == []
                assert run_cli(home, "destroy", REF, "-y").returncode == 0  # for the next round's start
                assert run_cli(home, "restore", NAME).returncode == 0
                assert run_cli(home, "destroy", REF, "-y").returncode == 0
        assert run_cli(home, "queue", "rm", _only_item(home)).returncode == 0
        for entry in home.archive_dir.iterdir():  # the next round starts afresh
            subprocess.run(["rm", "-rf", str(entry)], check=True)
    assert cases == 28 and failures >= 4
    print(f"\nfull-disk cases: {cases}, failed cleanly: {failures}, losses: 0")


def _only_item(home):
    (item,) = [p.name[:-5] for p in home.queue_items_dir.glob("*.json")]
    return item
