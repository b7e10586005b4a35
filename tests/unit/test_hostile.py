"""Issue 19: every hostile input is one line on stderr and an exit code, never a traceback, a hang or a
half-done change. One table-driven test per class, over many inputs and every command that takes them;
where a command refuses, the home is byte for byte what it was (`snapshot_tree`).

`INPUTS_TRIED` counts the inputs of each class (the issue asks for the numbers).
"""

from __future__ import annotations

import json
import os

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.opencode.settings import render
from tests.helpers import assert_one_line_error, run_cli, snapshot_tree, wait_state, write_session

INPUTS_TRIED: dict[str, int] = {}


def refused_unchanged(home, *args, code=1, needles=(), **kwargs):
    """Run the CLI; it refuses with one line and `code`, and the home (and its demo store) is unchanged."""
    before = snapshot_tree(home.root.parent)
    result = run_cli(home, *args, **kwargs)
    line = assert_one_line_error(result, code, *needles)
    assert snapshot_tree(home.root.parent) == before, args
    return line


def dev(ref, sid="ses_a", **fields):
    return {"type": "forked", "issue_ref": ref, "opencode_session_id": sid, "state": "idle", **fields}


# --- refs and ids ---------------------------------------------------------------------------------

BAD_REFS = [
    "a/b#" + "9" * 5000,  # past Python's int-string limit (4300 digits)
    "a/b#" + "1" * 4301,
    "https://github.com/a/b/issues/" + "7" * 4400,
    "a/b#" + "1" * 23,
    "a/b#9223372036854775808",  # 2**63: past any forge's issue numbers
    "a/b#0",
    "a/b#" + "0" * 30,
    "-x.com/a/b#1",  # a host that reads as an option
    "-oProxyCommand=x/a/b#1",
    "https://-x.com/a/b/issues/1",
    "x-.com/a/b#1",
    "a.-b/c/d#1",
    "a..b/c/d#1",
    "-a/b#1",  # an owner no forge allows, and an option
]
REF_COMMANDS = [
    ("start", "--", "{ref}", "msg"),
    ("start", "--queue", "--", "{ref}", "msg"),
    ("queue", "add", "--", "{ref}", "msg"),
    ("continue", "--", "{ref}"),
    ("destroy", "-y", "--", "{ref}"),
    ("restore", "--", "{ref}"),
]
BAD_IDS = [
    "--share",
    "-s",
    "--fork",
    "ses_a\x00b",  # a NUL: every exec refuses it
    "ses_a b",
    "ses_a\nb",
    "ses_\u202e1",
    "ses_",
    "ses_" + "a" * 65,
    "ses_a;rm -rf /",
    "ses_../x",
    "SES_abc",
    "xyz789",
    "ses_é",
]
INPUTS_TRIED["refs and ids"] = len(BAD_REFS) * len(REF_COMMANDS) + len(BAD_IDS) * 4 + 2


@pytest.mark.parametrize("command", REF_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_refs_past_every_bound_are_one_line_in_every_command(home, command):
    for ref in BAD_REFS:
        line = refused_unchanged(home, *[ref if part == "{ref}" else part for part in command])
        assert len(line) < 400, line  # a 5000-digit ref is not echoed whole


def test_ids_not_of_opencodes_form_never_reach_argv_and_never_pin_a_session(home):
    for number, sid in enumerate(BAD_IDS, start=1):
        ref = f"github.com/a/b#{number}"
        write_session(home, f"github.com-a-b-{number}", dev(ref, sid, log=f"/tmp/x\x00{number}"))
        refused_unchanged(home, "continue", ref, needles=("not an opencode session id",))
        refused_unchanged(home, "destroy", "-y", ref, needles=("--force",))
        forced = run_cli(home, "destroy", "-y", "--force", ref)
        assert forced.returncode == 0 and "Traceback" not in forced.stderr, forced.stderr
        assert not home.session_path(f"github.com-a-b-{number}").exists()  # its slot is free
    base = json.loads((home.sessions_dir / "base.json").read_text())
    for sid in BAD_IDS:
        write_session(home, "base", dict(base, opencode_session_id=sid))
        refused_unchanged(home, "start", "a/b#999", "msg", needles=("base session",))


def test_a_value_that_fills_a_whole_argument_before_a_double_dash_is_never_an_option():
    with pytest.raises(KugetsuError, match="reads as an option"):
        render(["opencode", "export", "{session_id}"], {"session_id": "--share"})
    assert render(["opencode", "run", "--", "{message}"], {"message": "-fix it"})[-1] == "-fix it"


# --- file names that are not UTF-8 -----------------------------------------------------------------

BAD_NAME_BYTES = [b"\xff", b"\xfe\xfe", b"a\x80b", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x80"]
BAD_MESSAGES = [b"m\xff", b"\xc3\x28", b"\xed\xa0\x80", b"fix \xe2\x80 it"]
MESSAGE_COMMANDS = [("start", "a/b#1"), ("start", "--queue", "a/b#1"), ("queue", "add", "a/b#1"), ("continue", "base")]
INPUTS_TRIED["file names not UTF-8"] = len(BAD_NAME_BYTES) * 8 + len(BAD_MESSAGES) * len(MESSAGE_COMMANDS)


def forge_off(home):
    """No test asks the network: the forge is off for github.com (work status comes from git)."""
    with home.config_toml.open("a") as config:
        config.write('\n[forge."github.com"]\napi = ""\n')


def test_names_that_are_not_utf8_round_trip_through_every_command(home):
    from kugetsu_tui.base.text import printable

    forge_off(home)
    for number, suffix in enumerate(BAD_NAME_BYTES, start=1):
        raw = os.fsdecode(b"github.com-a-b-" + suffix)
        shown = printable(raw)
        write_session(home, raw, dev(f"github.com/a/b#{number}"))
        listing = run_cli(home, "ls")
        assert listing.returncode == 0 and shown in listing.stdout, listing.stderr
        for args in (("ls", "--json"), ("work", "--json"), ("prune", "--merged", "--dry-run", "--json")):
            result = subprocess_bytes(home, *args)
            text = result.stdout.decode("utf-8")  # valid UTF-8, or this raises
            assert result.returncode == 0 and "\\udc" not in text, (args, result.stderr)
            if args[0] != "prune":  # nothing is done: prune lists no session
                assert shown in [row["name"] for row in json.loads(text)["sessions"]], args
        assert run_cli(home, "destroy", "-y", "--force", shown).returncode == 0  # the escaped name as shown
        assert not os.path.lexists(home.session_path(raw))
        archived = run_cli(home, "restore", "--list")
        assert archived.returncode == 0 and shown in archived.stdout
        restored = run_cli(home, "restore", shown)
        assert restored.returncode == 0 and "Traceback" not in restored.stderr, restored.stderr
        in_archive = [e for e in os.listdir(home.archive_dir) if e.startswith(raw)]
        assert os.path.lexists(home.session_path(raw)) and in_archive == []  # in one place only
        assert run_cli(home, "destroy", "-y", "--force", raw).returncode == 0  # the raw bytes work too
        assert run_cli(home, "restore", raw).returncode == 0 and os.path.lexists(home.session_path(raw))
        assert run_cli(home, "destroy", "-y", "--force", raw).returncode == 0  # its slot for the next name


def test_messages_that_are_not_utf8_are_refused_before_anything_is_written(home):
    for message in BAD_MESSAGES:
        for command in MESSAGE_COMMANDS:
            refused_unchanged(home, *command, os.fsdecode(message), needles=("not valid UTF-8",))


def subprocess_bytes(home, *args):
    import subprocess
    import sys

    from tests.helpers import cli_env

    return subprocess.run(
        [sys.executable, "-m", "kugetsu_tui", *args], env=cli_env(home), capture_output=True, timeout=60
    )


# --- control characters in fields -----------------------------------------------------------------

CONTROLS = ["\x00", "\x1b[31m", "\u202e", "\u2066", "\u200f", "\u061c", "\u2028", "\x9b2J", "\r", "\n", "\x07", "\x7f"]
INPUTS_TRIED["control characters in fields"] = len(CONTROLS) * 5 + 2


def test_control_characters_in_fields_are_shown_escaped_and_never_pin_a_session(home):
    for number, char in enumerate(CONTROLS, start=1):
        name = f"github.com-c-d-{number}"
        write_session(
            home,
            name,
            dev(f"github.com/c/d#{number}{char}", state=f"idle{char}", error=f"boom{char}", log=f"/tmp/l{char}"),
        )
        for args in (("ls",), ("restore", "--list")):
            result = run_cli(home, *args)
            assert result.returncode == 0, result.stderr
            assert char[0] not in result.stdout.replace("\n", ""), (args, char)
        assert json.loads(run_cli(home, "ls", "--json").stdout)["sessions"]
        forced = run_cli(home, "destroy", "-y", "--force", name)
        assert forced.returncode == 0 and char[0] not in forced.stderr.replace("\n", ""), forced.stderr
    # A NUL in the log of a session whose id is good: continue and destroy work as for any other.
    from tests.helpers import create_demo_session, demo_store

    sid = create_demo_session(demo_store(home), "nul log")
    write_session(home, "github.com-c-d-99", dev("github.com/c/d#99", sid, log="/tmp/x\x00y"))
    assert run_cli(home, "continue", "c/d#99", "go").returncode == 0
    wait_state(home, "github.com-c-d-99", "idle")
    assert run_cli(home, "destroy", "-y", "c/d#99").returncode == 0


# --- index.json as a special file -----------------------------------------------------------------


def _fifo(path):
    os.mkfifo(path)


def _link(target):
    return lambda path: os.symlink(target, path)


def _link_to_fifo(path):
    os.mkfifo(path.with_name("pipe"))
    os.symlink("pipe", path)


def _big(path):
    path.write_bytes(b'{"issues": {}, "pad": "' + b"x" * (2 << 20) + b'"}')


SPECIAL_INDEXES = {
    "fifo": _fifo,
    "symlink to /dev/zero": _link("/dev/zero"),
    "symlink to /dev/urandom": _link("/dev/urandom"),
    "symlink to a fifo": _link_to_fifo,
    "dangling symlink": _link("/nonexistent/index.json"),
    "directory": lambda path: path.mkdir(),
    "over 1 MiB": _big,
    "binary": lambda path: path.write_bytes(b"\xff\xfe\x00" * 100),
    "a number past the int-string limit": lambda path: path.write_bytes(b'{"base": ' + b"9" * 5000 + b"}"),
}
INPUTS_TRIED["index.json as a special file"] = len(SPECIAL_INDEXES) * 2


@pytest.mark.parametrize("make", SPECIAL_INDEXES.values(), ids=SPECIAL_INDEXES.keys())
def test_a_special_index_is_set_aside_never_blocked_on_or_read_without_end(home, make):
    import stat as stat_module

    home.index_path.unlink()
    make(home.index_path)
    kind = stat_module.S_IFMT(os.lstat(home.index_path).st_mode)
    started = run_cli(home, "start", "a/b#1", "go", timeout=30)
    assert started.returncode == 0, started.stderr
    aside = [p for p in home.root.iterdir() if p.name.startswith("index.json.broken-")]
    assert len(aside) == 1 and stat_module.S_IFMT(os.lstat(aside[0]).st_mode) == kind  # kept as it was
    assert json.loads(home.index_path.read_text())["issues"] == {"github.com/a/b#1": "github.com-a-b-1.json"}
    wait_state(home, "github.com-a-b-1", "idle")
    home.index_path.unlink()
    aside[0].rename(home.index_path)  # the special file back: destroy meets it too
    assert run_cli(home, "destroy", "-y", "a/b#1", timeout=30).returncode == 0


# --- a file that grows when rewritten -------------------------------------------------------------

GROWING = {
    "nested arrays": lambda depth: "[" * depth + "]" * depth,
    "nested objects": lambda depth: '{"a":' * depth + "1" + "}" * depth,
    "arrays of empty objects": lambda depth: "[" * depth + "{}" + "]" * depth,
    "mixed": lambda depth: '[{"a":' * (depth // 2) + "[]" + "}]" * (depth // 2),
}
DEPTHS = (600, 800, 950)
INPUTS_TRIED["a file that grows when rewritten"] = len(GROWING) * len(DEPTHS) + 1


@pytest.mark.parametrize("shape", GROWING.values(), ids=GROWING.keys())
def test_a_rewrite_never_makes_a_readable_session_unreadable(home, shape):
    from kugetsu_tui.sessions.files import MAX_SESSION_BYTES, read_session
    from tests.helpers import create_demo_session, demo_store

    sid = create_demo_session(demo_store(home), "nested")
    for depth in DEPTHS:
        raw = json.dumps(dev("github.com/a/b#7", sid)).encode()[:-1] + b', "x": ' + shape(depth).encode() + b"}"
        path = write_session(home, "github.com-a-b-7", raw)
        assert len(raw) <= MAX_SESSION_BYTES and not read_session(path).corrupt
        assert run_cli(home, "continue", "a/b#7", "go").returncode == 0  # rewrites it, several times
        wait_state(home, "github.com-a-b-7", "idle")
        again = read_session(path)
        assert not again.corrupt and again.data["x"] == json.loads(shape(depth)), depth


def test_a_number_longer_than_python_reads_is_a_corrupt_file_not_a_traceback(home):
    write_session(home, "github.com-a-b-8", b'{"pid": ' + b"1" * 5000 + b"}")
    listing = run_cli(home, "ls")
    assert listing.returncode == 0 and "number too long" in listing.stdout, listing.stderr


# --- case: one issue, one session ------------------------------------------------------------------

CASE_VARIANTS = [
    "acme/widgets#84",
    "ACME/widgets#84",
    "acme/WIDGETS#84",
    "Acme/Widgets#84",
    "GitHub.com/acme/widgets#84",
    "https://GITHUB.COM/AcMe/WiDgEtS/issues/84",
    "github.com/ACME/WIDGETS#084",
]
CASE_COMMANDS = [("start",), ("start", "--queue"), ("queue", "add")]
INPUTS_TRIED["case"] = len(CASE_VARIANTS) * (len(CASE_COMMANDS) + 1)


def test_refs_that_differ_only_in_case_are_one_issue_with_one_session(home):
    assert run_cli(home, "start", "ACME/Widgets#84", "first").returncode == 0
    wait_state(home, "github.com-ACME-Widgets-84", "idle")
    for ref in CASE_VARIANTS:
        for command in CASE_COMMANDS:
            refused_unchanged(home, *command, ref, "again", needles=("github.com-ACME-Widgets-84.json",))
    assert run_cli(home, "destroy", "-y", "ACME/Widgets#84").returncode == 0
    assert run_cli(home, "queue", "add", "acme/widgets#84", "later").returncode == 0
    for ref in CASE_VARIANTS:  # a waiting item holds the issue too
        refused_unchanged(home, "queue", "add", ref, "again", needles=("already queued",))
    assert run_cli(home, "start", "acme/widgets#84", "now").returncode == 0  # the queue is kugetsu's: start wins
    wait_state(home, "github.com-acme-widgets-84", "idle")
    refused_unchanged(home, "restore", "ACME/Widgets#84", needles=("github.com-acme-widgets-84.json",))


# --- numbers that are not numbers ----------------------------------------------------------------

NOT_NUMBERS = ["nan", "+nan", "-nan", "inf", "+inf", "-inf", "1e400", "-1e400"]
NUMBER_KEYS = {  # key: (table, commands that read it)
    "start_wait": ("agent", [("start", "a/b#1", "go"), ("continue", "base"), ("destroy", "-y", "a/b#2")]),
    "stall_after": ("agent", [("start", "a/b#1", "go"), ("continue", "base"), ("destroy", "-y", "a/b#2")]),
    "interval": ("forge", [("work",), ("prune", "--merged", "--dry-run")]),
}
LIMIT_WHITESPACE = [" 3", "3 ", "\t3", "3\t", " 3 ", "\u00a03", "3\u2003"]
LEGACY_WHITESPACE = ["MAX_CONCURRENT_AGENTS= 3", 'MAX_CONCURRENT_AGENTS=" 3"', "MAX_CONCURRENT_AGENTS='3 '"]
INPUTS_TRIED["numbers that are not numbers"] = (
    len(NOT_NUMBERS) * sum(len(c) for _, c in NUMBER_KEYS.values()) + 2 * len(LIMIT_WHITESPACE) + len(LEGACY_WHITESPACE)
)


@pytest.mark.parametrize("key", NUMBER_KEYS)
def test_nan_and_inf_are_refused_naming_the_key(home, key):
    import tomllib

    import tomli_w

    table, commands = NUMBER_KEYS[key]
    write_session(home, "github.com-a-b-2", dev("github.com/a/b#2"))
    config = tomllib.loads(home.config_toml.read_text())
    for value in NOT_NUMBERS:
        text = tomli_w.dumps({k: v for k, v in config.items() if k != table})
        home.config_toml.write_text(f"{text}\n[{table}]\n{key} = {value}\n" + _rest(config.get(table, {}), key))
        for command in commands:
            refused_unchanged(home, *command, needles=(key, "finite"))
        assert run_cli(home, "ls").returncode == 0  # ls keeps working with a broken config.toml


def _rest(table, key):
    import tomli_w

    return tomli_w.dumps({k: v for k, v in table.items() if k != key and not isinstance(v, dict)})


def test_whitespace_around_max_concurrent_agents_is_refused_not_trimmed(home):
    for raw in LIMIT_WHITESPACE:
        env = {"MAX_CONCURRENT_AGENTS": raw}
        refused_unchanged(home, "start", "a/b#1", "go", env=env, needles=("whitespace", "MAX_CONCURRENT_AGENTS"))
        listing = run_cli(home, "ls", env=env)
        assert listing.returncode == 0 and "whitespace" in listing.stdout
    for line in LEGACY_WHITESPACE:
        home.legacy_config.write_text(line + "\n")
        refused_unchanged(home, "start", "a/b#1", "go", needles=(str(home.legacy_config),))


# --- paths ---------------------------------------------------------------------------------------

PATH_COMMANDS = [
    ("ls",),
    ("ls", "--json"),
    ("start", "a/b#1", "go"),
    ("queue", "add", "a/b#1", "go"),
    ("queue", "ls"),
    ("continue", "a/b#1"),
    ("destroy", "-y", "a/b#1"),
    ("restore", "--list"),
    ("limit",),
    ("limit", "4"),
    ("work",),
    ("prune", "--merged", "--dry-run"),
]


def _home_is_a_file(root):
    root.write_text("not a home")


def _sessions_is_a_file(root):
    root.mkdir()
    (root / "sessions").write_text("not a directory")


def _home_links_to_a_file(root):
    (root.parent / "elsewhere").write_text("x")
    root.symlink_to(root.parent / "elsewhere")


def _sessions_links_to_a_file(root):
    root.mkdir()
    (root / "target").write_text("x")
    (root / "sessions").symlink_to(root / "target")


def _sessions_is_a_fifo(root):
    root.mkdir()
    os.mkfifo(root / "sessions")


BAD_HOMES = {
    "home is a file": (_home_is_a_file, "kugetsu home"),
    "sessions is a file": (_sessions_is_a_file, "sessions directory"),
    "home links to a file": (_home_links_to_a_file, "kugetsu home"),
    "sessions links to a file": (_sessions_links_to_a_file, "sessions directory"),
    "sessions is a fifo": (_sessions_is_a_fifo, "sessions directory"),
}
DEMO_MISUSES = [
    ("--demo", "ls"),
    ("--demo", "--home", "{home}"),
    ("--demo", "--home", "{home}", "ls"),
    ("--demo", "limit"),
]
INPUTS_TRIED["paths"] = (len(BAD_HOMES) + 1) * len(PATH_COMMANDS) + len(DEMO_MISUSES)


@pytest.mark.parametrize("case", BAD_HOMES, ids=list(BAD_HOMES))
def test_every_command_says_what_is_wrong_with_which_path(tmp_path, case):
    from kugetsu_tui.base.home import Home

    make, what = BAD_HOMES[case]
    home = Home(tmp_path / "bad" / "home")
    home.root.parent.mkdir()
    make(home.root)
    wrong = home.root if what == "kugetsu home" else home.sessions_dir
    for command in PATH_COMMANDS:
        refused_unchanged(home, *command, needles=(what, str(wrong), "not a directory"))


def test_an_empty_home_and_demo_with_a_command_or_a_home_are_refused(home):
    for command in PATH_COMMANDS:
        refused_unchanged(home, "--home", "", *command, needles=("--home is empty",))
    for misuse in DEMO_MISUSES:
        refused_unchanged(home, *[str(home.root) if a == "{home}" else a for a in misuse], needles=("--demo",))


# --- the console without a terminal ----------------------------------------------------------------

CONSOLE_ARGS = [(), ("--home", "{home}"), ("--demo",)]
TERMINAL_ENDS = ["neither", "stdin only", "stdout only"]
INPUTS_TRIED["the console without a terminal"] = len(CONSOLE_ARGS) * len(TERMINAL_ENDS)


def test_the_console_without_a_terminal_refuses_in_one_line_at_once(home):
    import pty
    import subprocess
    import sys
    import time

    from tests.helpers import cli_env

    for args in CONSOLE_ARGS:
        for ends in TERMINAL_ENDS:
            before = snapshot_tree(home.root.parent)
            master, slave = pty.openpty()
            stdin = slave if ends == "stdin only" else subprocess.DEVNULL
            stdout = slave if ends == "stdout only" else subprocess.PIPE
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "kugetsu_tui", *[str(home.root) if a == "{home}" else a for a in args]],
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                env=cli_env(home),
                text=True,
                timeout=20,
            )
            os.close(slave)
            os.close(master)
            assert time.monotonic() - started < 10
            assert_one_line_error(proc, 1, "needs a terminal", "kugetsu-tui ls")
            assert not proc.stdout, proc.stdout  # no escape codes into a redirection
            assert snapshot_tree(home.root.parent) == before, (args, ends)


# --- sizes -----------------------------------------------------------------------------------------

LIMIT_BOUND = "from 1 to 999999999999999999"
HUGE_LIMITS = ["9223372036854775807", "1000000000000000000", "1" * 19, "9" * 5000, "18446744073709551616"]


def _over_limit_messages():
    from kugetsu_tui.lifecycle.start import MAX_ARGUMENT_BYTES

    return ["x" * (MAX_ARGUMENT_BYTES + 1), "é" * (MAX_ARGUMENT_BYTES // 2 + 1), "y" * 1_000_000, "z" * (4 << 20)]


INPUTS_TRIED["sizes"] = 4 * 4 + 3 + 1 + len(HUGE_LIMITS) * 3 + 1


def test_a_message_over_the_kernels_argument_limit_is_refused_at_once_naming_it(home):
    """Over MAX_ARG_STRLEN no argv can carry it, the CLI's own included: the console's start dialog and
    queue files written by others are where such a message comes from, so the core is called directly."""
    from kugetsu_tui.lifecycle.start import MAX_ARGUMENT_BYTES, continue_session, start_session
    from kugetsu_tui.queue.drain import drain_once
    from kugetsu_tui.queue.manage import enqueue, start_or_queue
    from tests.helpers import create_demo_session, demo_store

    sid = create_demo_session(demo_store(home), "sized")
    write_session(home, "github.com-a-b-5", dev("github.com/a/b#5", sid))
    calls = [
        lambda m: start_session(home, "a/b#1", m),
        lambda m: start_or_queue(home, "a/b#1", m),
        lambda m: enqueue(home, "a/b#1", m),
        lambda m: continue_session(home, "a/b#5", m),
    ]
    for message in _over_limit_messages():
        for call in calls:
            before = snapshot_tree(home.root.parent)
            with pytest.raises(KugetsuError, match=f"limit of {MAX_ARGUMENT_BYTES} bytes .*MAX_ARG_STRLEN"):
                call(message)
            assert snapshot_tree(home.root.parent) == before
    # A queue file holding such a message (kugetsu wrote it): an error at once, not three retries (a file
    # over 1 MiB is a broken item, never started, so the last message is not tried here).
    for number, message in enumerate(_over_limit_messages()[:3], start=1):
        item = {"id": f"q_{number}", "issue_ref": f"github.com/a/b#{10 + number}", "message": message}
        home.queue_items_dir.mkdir(parents=True, exist_ok=True)
        (home.queue_items_dir / f"q_{number}.json").write_text(json.dumps(dict(item, state="pending")))
    drain_once(home)
    for number in range(1, 4):
        done = json.loads((home.queue_items_dir / f"q_{number}.json").read_text())
        assert done["state"] == "error" and "MAX_ARG_STRLEN" in done["error"], done["state"]
    accepted = run_cli(home, "queue", "add", "a/b#2", "m" * MAX_ARGUMENT_BYTES)  # the largest an argv carries
    assert accepted.returncode == 0, accepted.stderr


def test_a_limit_past_its_bound_says_the_real_bound(home):
    for value in HUGE_LIMITS:
        refused_unchanged(home, "limit", value, needles=(LIMIT_BOUND,))
        refused_unchanged(home, "start", "a/b#1", "go", env={"MAX_CONCURRENT_AGENTS": value}, needles=(LIMIT_BOUND,))
        home.config_toml.write_text(f"max_concurrent_agents = {value}\n" + home.config_toml.read_text())
        refused_unchanged(home, "start", "a/b#1", "go", needles=(str(home.config_toml),))
        home.config_toml.write_text(home.config_toml.read_text().split("\n", 1)[1])
    assert run_cli(home, "limit", "999999999999999999").returncode == 0


# --- what is kept ----------------------------------------------------------------------------------

TOKEN = "SECRET-TOKEN-19"


def _echoing(body):
    """A forge that echoes the request (headers, token) into its answer, at every level."""
    echo = {"headers": {"Authorization": f"token {TOKEN}"}, "note": TOKEN}
    if isinstance(body, list):
        return [_echoing(item) for item in body] + [TOKEN, [TOKEN]]
    head = dict(body.get("head", {}), repo={"owner": echo}) if "head" in body else None
    return {**body, "request": echo, "user": {"login": TOKEN}, **({"head": head} if head else {})}


def _kept_cases():
    from tests.unit.forge_server import gitea_pr, github_pr, issue

    return {
        "issue": ("/repos/o/r/issues/12", issue(12, "closed", "completed"), {}),
        "pr": ("/repos/o/r/pulls/34", github_pr(34, "closed", True), {"pr_url": "https://github.com/o/r/pull/34"}),
        "github list": ("/repos/o/r/pulls", [github_pr(35, "closed", None, ref="fix/12")], {"branch": "fix/12"}),
        "gitea list": ("/repos/o/r/pulls", [gitea_pr(36, "closed", True, ref="fix/12")], {"branch": "fix/12"}),
    }


INPUTS_TRIED["what is kept"] = 4 * 2 + 1


def test_the_forge_cache_keeps_only_the_fields_used_never_a_body(tmp_path):
    from kugetsu_tui.base.refs import parse_issue_ref
    from kugetsu_tui.work.forge import ForgeClient, forge_work, parse_forge_settings
    from kugetsu_tui.work.forge.client import KEPT_FIELDS
    from tests.unit.forge_server import Answer, forge_server

    cache = tmp_path / "forge-cache.json"
    allowed = {*KEPT_FIELDS, "head", "ref", "etag", "body", "seen"}
    with forge_server() as server:
        settings = parse_forge_settings({"github.com": {"api": server.url}})
        for what, (path, body, where) in _kept_cases().items():
            cache.unlink(missing_ok=True)
            server.routes = {path: Answer(body=_echoing(body), etag=f'"{what}"')}
            answers = []
            for _ in range(2):  # the second is a 304 answered from the cache
                client = ForgeClient(cache)
                ref = parse_issue_ref("github.com/o/r#12")
                answers.append(forge_work(client, settings, ref, environ={"GITHUB_TOKEN": TOKEN}, **where))
                client.save()
                text = cache.read_text()
                assert TOKEN not in text, what
                keys: set[str] = set()
                for response in json.loads(text)["responses"].values():
                    keys |= set(response)
                    _collect_keys(response["body"], keys)
                assert keys <= allowed, (what, keys - allowed)
            assert answers[0] == answers[1] and answers[0].state in ("closed", "merged"), answers
        # A cache written before: its verbatim bodies are cut down when read.
        cache.write_text(
            json.dumps({"responses": {"u": {"etag": "x", "body": _echoing({"state": "open"}), "seen": 1}}})
        )
        assert TOKEN not in json.dumps(ForgeClient(cache)._responses)


def _collect_keys(data, keys):
    if isinstance(data, dict):
        for key, value in data.items():
            keys.add(key)
            _collect_keys(value, keys)
    elif isinstance(data, list):
        for value in data:
            _collect_keys(value, keys)


def test_every_class_of_the_issue_counts_its_inputs():
    """The counts the issue asks for (`pytest -s` prints them); the console's classes are in
    tests/console/test_hostile_console.py."""
    print(json.dumps(INPUTS_TRIED, indent=2))
    assert len(INPUTS_TRIED) == 11 and all(count > 0 for count in INPUTS_TRIED.values())


@pytest.mark.parametrize("message", ["", " ", "\t\n"])
def test_a_blank_message_is_refused_by_start_queue_add_and_continue_and_changes_nothing(home, message):
    """An agent told nothing works on nothing: refused before a slot, a queue item or a launch."""
    home.session_path("github.com-shoko-kugetsu-5").write_text(json.dumps(dev("github.com/shoko/kugetsu#5")))
    for args in (
        ("start", "shoko/kugetsu#4", message),
        ("start", "shoko/kugetsu#4", message, "--queue"),
        ("queue", "add", "shoko/kugetsu#4", message),
        ("continue", "shoko/kugetsu#5", message),
    ):
        refused_unchanged(home, *args, needles=("the message is empty",))
