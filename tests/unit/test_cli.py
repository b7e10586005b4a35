"""The scriptable CLI: `ls --json` shape, exit codes, one-line errors, untrusted text escaped."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tomllib

import pytest

from kugetsu_tui.cli.main import build_parser
from kugetsu_tui.lifecycle.start import start_session
from tests.helpers import (
    PY,
    ROOT,
    SEED_DEV_NAMES,
    assert_one_line_error,
    cli_env,
    demo_agent_config,
    ls_session_keys,
    make_home,
    run_cli,
    wait_state,
    write_session,
)


def ls_json(home, **kwargs):
    result = run_cli(home, "ls", "--json", **kwargs)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


# --- ls --------------------------------------------------------------------------------------------


def test_ls_json_has_exactly_the_documented_shape(tmp_path):
    home = make_home(tmp_path, pm=True)
    demo_agent_config(home, seconds=30)
    start_session(home, "shoko/kugetsu#49", "running one")
    running = wait_state(home, "github.com-shoko-kugetsu-49", "running")
    write_session(home, "github.com-shoko-kugetsu-14", created_at="2026-03-29T18:16:10+02:00")
    write_session(home, "issue-1", b"{broken")

    listing = ls_json(home)
    assert set(listing) == {"active", "limit", "sessions", "queued", "parked"}
    assert listing["active"] == 3 and listing["limit"] == 3
    for entry in listing["sessions"]:
        assert set(entry) == ls_session_keys(entry["kind"])
        assert set(entry["activity"]) == {"state", "detail", "since"}
    by_name = {e["name"]: e for e in listing["sessions"]}
    assert by_name["github.com-shoko-kugetsu-49"].pop("activity")["state"] == "busy"
    assert [e["kind"] for e in listing["sessions"]][:2] == ["base", "pm"]
    assert by_name["github.com-shoko-kugetsu-49"] == {
        "name": "github.com-shoko-kugetsu-49",
        "kind": "dev",
        "issue_ref": "github.com/shoko/kugetsu#49",
        "opencode_session_id": running["opencode_session_id"],
        "state": "running",
        "pid": running["pid"],
        "alive": True,
        "created_at": running["created_at"],
        "path": str(home.sessions_dir / "github.com-shoko-kugetsu-49.json"),
        "error": None,
        "worktree_path": None,
        "branch_name": None,
        "repo": None,
        "parked_at": None,
        "work": {"state": "unknown", "source": None, "detail": "not checked yet", "url": None, "checked_at": None},
        "usage": None,  # no server: nothing counts the tokens
    }
    corrupt = by_name["issue-1"]
    assert corrupt["kind"] == "dev" and corrupt["state"] == "corrupt" and "invalid JSON" in corrupt["error"]
    assert corrupt["alive"] is False and corrupt["pid"] is None and corrupt["issue_ref"] is None
    assert by_name["base"]["kind"] == "base" and by_name["base"]["opencode_session_id"]
    assert by_name["github.com-shoko-kugetsu-14"]["state"] == "idle"


def test_ls_json_reports_the_limit_in_force(home):
    assert ls_json(home, env={"MAX_CONCURRENT_AGENTS": "7"})["limit"] == 7
    assert run_cli(home, "limit", "5").returncode == 0
    assert ls_json(home)["limit"] == 5


def test_ls_counts_the_seed_file_names(home):
    for name in SEED_DEV_NAMES:
        write_session(home, name)
    listing = ls_json(home)
    assert listing["active"] == 3
    result = run_cli(home, "ls")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("active 3/3")
    for name in SEED_DEV_NAMES:
        assert name in result.stdout


def test_ls_corrects_a_running_state_whose_agent_vanished(home):
    write_session(home, "github.com-shoko-kugetsu-1", state="running", pid=2**22 + 11)
    (entry,) = [e for e in ls_json(home)["sessions"] if e["kind"] == "dev"]
    assert entry["state"] == "failed" and entry["alive"] is False and "vanished" in entry["error"]
    assert "vanished" in run_cli(home, "ls").stdout


def test_ls_json_on_a_home_that_does_not_exist_says_so_exits_1_keeps_its_json_and_creates_nothing(tmp_path):
    missing = tmp_path / "nothing-here"
    result = run_cli(missing, "ls", "--json")
    assert_one_line_error(result, 1, f"the kugetsu home {missing} (from $KUGETSU_HOME) does not exist", "--home")
    assert json.loads(result.stdout) == {"active": 0, "limit": 3, "sessions": [], "queued": 0, "parked": 0}
    assert not missing.exists()


EVERY_COMMAND = [
    ("ls",),
    ("work",),
    ("work", "--json"),
    ("prune", "--merged", "--dry-run"),
    ("restore", "--list"),
    ("restore", "x"),
    ("recover", "--dry-run"),
    ("recover",),
    ("limit",),
    ("continue", "a/b#1"),
    ("destroy", "a/b#1", "-y"),
    ("start", "a/b#1", "go"),
    ("start", "a/b#1", "go", "--queue"),
    ("permissions",),
    ("queue", "add", "a/b#1", "go"),
    ("queue", "rm", "q_1"),
    ("queue", "front", "q_1"),
    ("queue", "drain"),
    ("queue", "drain", "--watch"),
]


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=" ".join)
def test_every_command_on_a_home_that_does_not_exist_says_so_in_one_line_and_creates_nothing(tmp_path, args):
    missing = tmp_path / "nothing-here"
    result = run_cli(None, "--home", str(missing), *args)
    assert_one_line_error(result, 1, f"the kugetsu home {missing} (given by --home) does not exist", "KUGETSU_HOME")
    assert result.stdout == ""
    assert not missing.exists()


def test_queue_ls_json_on_a_home_that_does_not_exist_keeps_its_json(tmp_path):
    result = run_cli(None, "queue", "ls", "--json", "--home", str(tmp_path / "none"))
    assert_one_line_error(result, 1, "does not exist")
    assert json.loads(result.stdout) == {"queued": 0, "items": []}


def test_limit_n_still_creates_a_missing_home_for_its_config(tmp_path):
    missing = tmp_path / "new-home"
    result = run_cli(missing, "limit", "4")
    assert result.returncode == 0, result.stderr
    assert (missing / "config.toml").is_file()


def test_the_missing_home_line_names_the_default_when_nothing_pointed_elsewhere(tmp_path):
    result = run_cli(None, "ls", env={"KUGETSU_HOME": None, "HOME": str(tmp_path)})
    assert_one_line_error(result, 1, f"the kugetsu home {tmp_path / '.kugetsu'} (the default) does not exist")


def test_ls_shows_an_invalid_limit_as_a_warning(home):
    result = run_cli(home, "ls", env={"MAX_CONCURRENT_AGENTS": "abc"})
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("active 0/invalid")
    assert "warning: invalid limit 'abc'" in result.stdout


def test_home_flag_overrides_kugetsu_home(home, tmp_path):
    other = make_home(tmp_path, "other")
    write_session(other, "only-in-other")
    listing = json.loads(run_cli(home, "--home", str(other.root), "ls", "--json").stdout)
    assert [e["name"] for e in listing["sessions"] if e["kind"] == "dev"] == ["only-in-other"]


# --- untrusted text ---------------------------------------------------------------------------------

EVIL = "\x1b]0;owned\x07\x1b[2J\x9b31m"


def test_ls_escapes_control_characters_from_the_issue_ref_and_the_name(home):
    write_session(
        home,
        "evil\x1b[31m",
        {
            "type": "forked",
            "issue_ref": f"github.com/a/b#1{EVIL}",
            "opencode_session_id": f"ses_{EVIL}",
            "state": "idle",
        },
    )
    write_session(home, "weird", f"{{broken {EVIL}".encode())
    result = run_cli(home, "ls")
    assert result.returncode == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\x9b" not in result.stdout
    assert "\\x1b]0;owned\\x07" in result.stdout and "evil\\x1b[31m" in result.stdout
    listing = run_cli(home, "ls", "--json").stdout
    assert "\x1b" not in listing and "\\u001b" in listing
    assert json.loads(listing)["sessions"][1]["issue_ref"] == f"github.com/a/b#1{EVIL}"


def test_ls_escapes_control_characters_in_the_state(home):
    write_session(home, "x", state=f"idle{EVIL}")
    result = run_cli(home, "ls")
    assert result.returncode == 0
    assert "\x1b" not in result.stdout


def test_errors_escape_control_characters_in_what_the_user_typed(home):
    result = run_cli(home, "destroy", f"x{EVIL}", "-y")
    line = assert_one_line_error(result, 1, "no session")
    assert "\x1b" not in line and "\\x1b" in line
    result = run_cli(home, "start", f"a/b#1{EVIL}", "x")
    line = assert_one_line_error(result, 1, "invalid issue ref")
    assert "\x1b" not in line


# --- exit codes and usage ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("bogus",),
        ("start",),
        ("start", "shoko/kugetsu#1"),
        ("start", "a/b#1", "msg", "extra"),
        ("ls", "--bogus"),
        ("destroy",),
        ("continue",),
        ("--no-such-flag", "ls"),
    ],
)
def test_usage_errors_exit_1_not_argparses_2_with_one_line(home, args):
    result = run_cli(home, *args)
    assert_one_line_error(result, 1, "error:")
    assert "--help" in result.stderr


@pytest.mark.parametrize(
    ("args", "prog"), [(("ls", "-j"), "kugetsu-tui ls"), (("queue", "ls", "extra"), "kugetsu-tui queue ls")]
)
def test_an_unknown_argument_is_named_by_the_command_whose_help_lists_the_right_ones(home, args, prog):
    assert_one_line_error(run_cli(home, *args), 1, f"{prog}: error: unrecognized arguments: {args[-1]}")


def test_help_exits_0_and_documents_the_exit_codes(home):
    result = run_cli(home, "--help")
    assert result.returncode == 0
    assert "2 at capacity" in result.stdout
    for command in ("ls", "start", "continue", "destroy", "restore", "limit"):
        assert command in result.stdout


def _commands(parser, path=()):
    """Every subcommand and sub-subcommand of `parser`: (words, its parser, its help in the list above it)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), sub, helps[name]
                yield from _commands(sub, (*path, name))


def test_every_subcommand_and_sub_subcommand_has_a_description_in_its_help():
    commands = list(_commands(build_parser()))
    words = {" ".join(path) for path, _, _ in commands}
    assert {"ls", "start", "queue", "queue add", "queue drain", "permissions", "prune"} <= words
    for path, parser, listed in commands:
        assert listed, path
        assert parser.description, path
        assert parser.description.rstrip(".").lower().startswith(listed.rstrip(".").lower()[:20]), path
        shown = " ".join(parser.format_help().split())
        assert " ".join(parser.description.split()) in shown, path


def test_a_subcommands_help_shows_its_description_on_the_command_line(home):
    result = run_cli(home, "queue", "add", "--help")
    assert result.returncode == 0
    assert "Queue a start for when a slot frees." in result.stdout
    assert "Answer one." not in result.stdout and "list the permission asks" not in result.stdout
    result = run_cli(home, "permissions", "--help")
    assert "List the permission asks pending in the opencode server, or answer one." in " ".join(result.stdout.split())


def test_version_prints_the_package_version_and_exits_0(home):
    from importlib.metadata import version

    for args in (("--version",), ("ls", "--version")):
        result = run_cli(home, *args)
        assert (result.returncode, result.stdout, result.stderr) == (0, f"kugetsu-tui {version('kugetsu-tui')}\n", "")
    assert version("kugetsu-tui") == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.parametrize(
    "args",
    [
        ("ls", "--json", "--home", "{other}"),
        ("ls", "--home={other}", "--json"),
        ("queue", "ls", "--json", "--home", "{other}"),
        ("queue", "--home", "{other}", "ls", "--json"),
    ],
)
def test_the_global_home_option_works_after_the_command_too(home, tmp_path, args):
    other = make_home(tmp_path, "other")
    write_session(other, "only-in-other")
    result = run_cli(home, *(a.format(other=other.root) for a in args))
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    if "sessions" in listing:
        assert [e["name"] for e in listing["sessions"] if e["kind"] == "dev"] == ["only-in-other"]


def test_given_before_and_after_the_command_the_home_after_it_wins(home, tmp_path):
    other = make_home(tmp_path, "other")
    write_session(other, "only-in-other")
    args = build_parser().parse_args(["--home", str(home.root), "ls", "--home", str(other.root)])
    assert args.home == str(other.root)
    args = build_parser().parse_args(["--home", str(home.root), "ls"])  # not reset by the command's default
    assert args.home == str(home.root)
    listing = json.loads(run_cli(home, "--home", "/nonexistent", "ls", "--json", "--home", str(other.root)).stdout)
    assert [e["name"] for e in listing["sessions"] if e["kind"] == "dev"] == ["only-in-other"]


def test_every_command_takes_the_global_options_and_none_can_define_its_own_of_that_name():
    parser = build_parser()
    for path, sub, _ in _commands(parser):
        assert {"--home", "--demo", "--version"} <= set(sub._option_string_actions), path
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    with pytest.raises(argparse.ArgumentError, match="conflicting option string: --home"):
        commands.add_parser("new-command", help="a command").add_argument("--home")


def test_demo_after_a_command_is_refused_as_before_it(home):
    for args in (("--demo", "ls"), ("ls", "--demo")):
        assert_one_line_error(run_cli(home, *args), 1, "--demo opens the console on a throwaway home")


def test_exit_codes_0_1_2(home):
    assert run_cli(home, "start", "shoko/kugetsu#1", "a").returncode == 0
    assert run_cli(home, "start", "shoko/kugetsu#1", "a").returncode == 1  # already has a session
    assert run_cli(home, "start", "shoko/kugetsu#2", "b", env={"MAX_CONCURRENT_AGENTS": "1"}).returncode == 2
    assert run_cli(home, "ls").returncode == 0


def test_os_errors_are_one_line_too(home, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli(blocker / "home", "limit", "4")
    assert_one_line_error(result, 1)
    assert str(blocker) in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: permissions do not stop root")
def test_an_unwritable_home_is_a_one_line_error(home):
    home.sessions_dir.chmod(0o500)
    try:
        result = run_cli(home, "start", "shoko/kugetsu#1", "x")
        assert_one_line_error(result, 1)
    finally:
        home.sessions_dir.chmod(0o700)


def test_end_of_input_at_the_destroy_prompt_cancels_without_a_traceback(home):
    """Ctrl+D at the y/N prompt: the answer is no."""
    import pty

    write_session(home, "github.com-shoko-kugetsu-4")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [PY, "-m", "kugetsu_tui", "destroy", "shoko/kugetsu#4"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=cli_env(home),
        close_fds=True,
    )
    os.close(slave)
    output = b""
    while b"[y/N]" not in output:
        output += os.read(master, 4096)
    os.write(master, b"\x04")
    assert proc.wait(timeout=20) == 1
    try:
        while chunk := os.read(master, 4096):
            output += chunk
    except OSError:
        pass
    os.close(master)
    assert b"Traceback" not in output and b"cancelled" in output
    assert home.session_path("github.com-shoko-kugetsu-4").exists()


def test_a_closed_pipe_is_not_an_error(home):
    for number in range(300):
        write_session(home, f"github.com-shoko-kugetsu-{number + 1}")
    proc = subprocess.Popen(
        [PY, "-m", "kugetsu_tui", "ls"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(home)
    )
    proc.stdout.read(10)
    proc.stdout.close()  # like `ls | head -1`
    assert proc.wait(timeout=20) == 0
    assert proc.stderr.read() == b""


def test_two_refs_that_kugetsu_names_alike_are_told_apart(home):
    assert run_cli(home, "start", "a-b/c#1", "first").returncode == 0
    result = run_cli(home, "start", "a/b-c#1", "second")
    line = assert_one_line_error(result, 1, "github.com-a-b-c-1.json", "github.com/a-b/c#1", "destroy that one first")
    assert "continue" not in line
