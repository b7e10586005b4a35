"""The limit (precedence, validation, `limit N`) and the agent command templates."""

from __future__ import annotations

import io
import os
import stat
import tomllib

import pytest

from kugetsu_tui.base.config_file import load_toml
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.opencode.commands import DEFAULT_TEMPLATES
from kugetsu_tui.opencode.settings import load_agent_config, render
from kugetsu_tui.sessions.limit import resolve_limit, save_limit
from tests.helpers import (
    assert_one_line_error,
    demo_agent_config,
    dev_files,
    read_index,
    run_cli,
    set_toml_limit,
    tree_listing,
    wait_state,
)

INVALID = ["0", "-1", "abc", "1.0", "0x10", "1e2", "+3", "1 2", "\uff13", "\u0663", "00"]


@pytest.fixture
def bare(tmp_path) -> Home:
    home = Home(tmp_path / "home")
    home.ensure(home.root)
    return home


# --- precedence ----------------------------------------------------------------------------


def test_the_default_is_kugetsus_3(bare):
    limit = resolve_limit(bare, {})
    assert (limit.value, limit.source, limit.error) == (3, "default", None)


def test_precedence_env_then_config_toml_then_legacy_config_then_default(bare):
    bare.config_toml.write_text("max_concurrent_agents = 5\n")
    bare.legacy_config.write_text("MAX_CONCURRENT_AGENTS=4\n")
    limit = resolve_limit(bare, {"MAX_CONCURRENT_AGENTS": "7"})
    assert limit.value == 7 and "MAX_CONCURRENT_AGENTS" in limit.source and "environment" in limit.source
    limit = resolve_limit(bare, {})
    assert limit.value == 5 and "config.toml" in limit.source
    bare.config_toml.write_text("other = 1\n")
    limit = resolve_limit(bare, {})
    assert limit.value == 4 and limit.source.startswith(str(bare.legacy_config))
    bare.legacy_config.write_text("SOMETHING_ELSE=9\n")
    assert resolve_limit(bare, {}).value == 3


def test_an_empty_env_value_counts_as_unset(bare):
    bare.config_toml.write_text("max_concurrent_agents = 5\n")
    assert resolve_limit(bare, {"MAX_CONCURRENT_AGENTS": ""}).value == 5


def test_resolve_limit_reads_the_real_environment_by_default(bare, monkeypatch):
    monkeypatch.setenv("MAX_CONCURRENT_AGENTS", "11")
    assert resolve_limit(bare).value == 11


def test_an_invalid_env_value_is_not_replaced_by_a_lower_source(bare):
    bare.config_toml.write_text("max_concurrent_agents = 5\n")
    limit = resolve_limit(bare, {"MAX_CONCURRENT_AGENTS": "0"})
    assert limit.value is None and limit.error


def test_only_the_top_level_toml_key_counts(bare):
    bare.config_toml.write_text("[agent]\nmax_concurrent_agents = 9\n")
    assert resolve_limit(bare, {}).value == 3


def test_a_leading_zero_decimal_is_still_a_plain_integer(bare):
    assert resolve_limit(bare, {"MAX_CONCURRENT_AGENTS": "05"}).value == 5


# --- every invalid value, from every source --------------------------------------------------


@pytest.mark.parametrize("raw", INVALID)
def test_an_invalid_env_value_is_an_error_naming_source_and_value(bare, raw):
    limit = resolve_limit(bare, {"MAX_CONCURRENT_AGENTS": raw})
    assert limit.value is None
    assert "MAX_CONCURRENT_AGENTS" in limit.error and "environment" in limit.error
    assert repr(raw) in limit.error


@pytest.mark.parametrize(
    "toml_value, shown",
    [
        ("0", "0"),
        ("-1", "-1"),
        ('"abc"', "abc"),
        ("1.0", "1.0"),
        ("0x10", "0x10"),
        ("1_000", "1_000"),
        ('"3"', "'3'"),
        ("true", "True"),
        ("1e2", "100.0"),
        ("+3", "+3"),
        ("0o7", "0o7"),
        ("0b11", "0b11"),
        ("[3]", "[3]"),
        ("{ n = 3 }", "{'n': 3}"),
        ("''", "''"),
    ],
)
def test_an_invalid_config_toml_value_is_an_error_naming_file_and_value(bare, toml_value, shown):
    set_toml_limit(bare, toml_value)
    limit = resolve_limit(bare, {})
    assert limit.value is None
    assert str(bare.config_toml) in limit.error and "max_concurrent_agents" in limit.error
    assert shown in limit.error


@pytest.mark.parametrize("raw", INVALID)
def test_an_invalid_legacy_value_is_an_error_naming_file_and_value(bare, raw):
    bare.legacy_config.write_text(f"MAX_CONCURRENT_AGENTS={raw}\n")
    limit = resolve_limit(bare, {})
    assert limit.value is None
    assert str(bare.legacy_config) in limit.error and "MAX_CONCURRENT_AGENTS" in limit.error
    assert repr(raw) in limit.error


# --- the legacy bash config ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("MAX_CONCURRENT_AGENTS=5\n", 5),
        ('export MAX_CONCURRENT_AGENTS="5"\n', 5),
        ("MAX_CONCURRENT_AGENTS='6'\n", 6),
        ("  export   MAX_CONCURRENT_AGENTS=7\n", 7),
        ("MAX_CONCURRENT_AGENTS=5 # five agents\n", 5),
        ("MAX_CONCURRENT_AGENTS=4\nOTHER=1\nMAX_CONCURRENT_AGENTS=6\n", 6),  # last assignment wins
        ("# MAX_CONCURRENT_AGENTS=9\nMAX_CONCURRENT_AGENTS=2\n", 2),
        ("MAX_CONCURRENT_AGENTS=2\n# MAX_CONCURRENT_AGENTS=9\n", 2),
        ("MY_MAX_CONCURRENT_AGENTS=9\nMAX_CONCURRENT_AGENTS=2\n", 2),
        ("KUGETSU_DIR=~/x\n", 3),
    ],
)
def test_legacy_config_forms(bare, text, value):
    bare.legacy_config.write_text(text)
    assert resolve_limit(bare, {}).value == value


def test_legacy_quoted_value_with_a_trailing_comment(bare):
    bare.legacy_config.write_text('MAX_CONCURRENT_AGENTS="5"  # five agents\n')
    assert resolve_limit(bare, {}).value == 5


# --- TOML quirks that must not bypass the plain-decimal rule ----------------------------------


def test_a_quoted_toml_key_with_a_hex_value_is_still_refused(bare):
    bare.config_toml.write_text('"max_concurrent_agents" = 0x10\n')
    assert tomllib.loads(bare.config_toml.read_text())["max_concurrent_agents"] == 16
    assert resolve_limit(bare, {}).value is None


def test_the_limit_is_the_parsed_toml_value_not_a_look_alike_line(bare):
    bare.config_toml.write_text('note = """\nmax_concurrent_agents = 99\n"""\nmax_concurrent_agents = 2\n')
    assert tomllib.loads(bare.config_toml.read_text())["max_concurrent_agents"] == 2
    assert resolve_limit(bare, {}).value == 2


def test_a_huge_limit_is_a_clear_error_not_a_traceback(home):
    result = run_cli(home, "start", "shoko/kugetsu#1", "hi", env={"MAX_CONCURRENT_AGENTS": "1" * 5000})
    assert_one_line_error(result, 1, "MAX_CONCURRENT_AGENTS")
    assert dev_files(home) == []


# --- invalid limit: start refused, everything else works ---------------------------------------


@pytest.mark.parametrize("where", ["env", "config.toml", "legacy"])
def test_an_invalid_limit_refuses_start_but_ls_continue_and_destroy_work(home, where):
    from kugetsu_tui.lifecycle.start import start_session

    session = start_session(home, "shoko/kugetsu#5", "first")
    wait_state(home, session.name, "idle")
    env = {}
    if where == "env":
        env = {"MAX_CONCURRENT_AGENTS": "0x10"}
    elif where == "config.toml":
        set_toml_limit(home, "0")
    else:
        home.legacy_config.write_text("MAX_CONCURRENT_AGENTS=abc\n")
    before = tree_listing(home.root)

    result = run_cli(home, "start", "shoko/kugetsu#6", "second", env=env)
    line = assert_one_line_error(result, 1, "invalid limit", "Cannot start dev session for github.com/shoko/kugetsu#6")
    assert {"env": "0x10", "config.toml": "0", "legacy": "abc"}[where] in line
    assert tree_listing(home.root) == before

    result = run_cli(home, "ls", "--json", env=env)
    assert result.returncode == 0, result.stderr
    import json

    listing = json.loads(result.stdout)
    assert listing["limit"] is None and listing["active"] == 1 and "invalid limit" in listing["limit_error"]

    result = run_cli(home, "continue", "shoko/kugetsu#5", "more", env=env)
    assert result.returncode == 0, result.stderr
    wait_state(home, session.name, "idle")

    result = run_cli(home, "destroy", "shoko/kugetsu#5", "-y", env=env)
    assert result.returncode == 0, result.stderr
    assert dev_files(home) == []
    assert read_index(home)["issues"] == {}


# --- broken config.toml -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, line",
    [
        ("max_concurrent_agents = 3\n[agent\nstart = []\n", 2),
        ("a = 1\nb = 2\nmax_concurrent_agents = \n", 3),
        ('x = "unterminated\n', 1),
    ],
)
def test_a_broken_config_toml_is_one_line_naming_file_and_line(home, text, line):
    home.config_toml.write_text(text)
    for args in (("start", "shoko/kugetsu#1", "hi"), ("limit",)):
        result = run_cli(home, *args)
        assert_one_line_error(result, 1, str(home.config_toml), f"line {line}")
    assert dev_files(home) == []
    with pytest.raises(KugetsuError, match=f"line {line}"):
        load_toml(home)


def test_ls_still_works_with_a_broken_config_toml(home):
    home.config_toml.write_text("[agent\n")
    result = run_cli(home, "ls")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "invalid" in result.stdout and "line 1" in result.stdout


def test_a_config_toml_that_is_not_utf8_is_a_clear_error(home):
    home.config_toml.write_bytes(b"max_concurrent_agents = 3\n\xff\xfe\n")
    result = run_cli(home, "start", "shoko/kugetsu#1", "hi")
    assert_one_line_error(result, 1, str(home.config_toml), "UTF-8")


# --- `limit N` -----------------------------------------------------------------------------------


def test_limit_n_writes_config_toml_and_keeps_other_keys(home):
    home.config_toml.write_text(home.config_toml.read_text() + '\n[extra]\nkeep = "me"\n')
    before = tomllib.loads(home.config_toml.read_text())
    result = run_cli(home, "limit", "5")
    assert result.returncode == 0, result.stderr
    assert "5" in result.stdout and str(home.config_toml) in result.stdout
    after = tomllib.loads(home.config_toml.read_text())
    assert after.pop("max_concurrent_agents") == 5
    assert after == before  # the [agent] table and every other key survive
    assert stat.S_IMODE(home.config_toml.stat().st_mode) == 0o600
    assert resolve_limit(home, {}).value == 5
    shown = run_cli(home, "limit")
    assert shown.returncode == 0 and shown.stdout.startswith("5 (from ") and "config.toml" in shown.stdout


def test_limit_n_replaces_an_invalid_value(home):
    set_toml_limit(home, "0x10")
    assert resolve_limit(home, {}).error
    assert run_cli(home, "limit", "2").returncode == 0
    assert resolve_limit(home, {}).value == 2


def test_limit_n_creates_a_missing_home_and_config(tmp_path):
    home = Home(tmp_path / "fresh")
    save_limit(home, 4)
    assert tomllib.loads(home.config_toml.read_text()) == {"max_concurrent_agents": 4}
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.0", "0x10", "1e2", ""])
def test_an_invalid_limit_argument_exits_1_and_leaves_config_toml_unchanged(home, bad):
    before = home.config_toml.read_bytes()
    result = run_cli(home, "limit", bad)
    assert_one_line_error(result, 1)
    assert home.config_toml.read_bytes() == before


def test_limit_n_with_a_broken_config_toml_does_not_overwrite_it(home):
    home.config_toml.write_text("[agent\n")
    result = run_cli(home, "limit", "4")
    assert_one_line_error(result, 1, "line 1")
    assert home.config_toml.read_text() == "[agent\n"


def test_limit_n_warns_when_the_environment_overrides_it(home):
    result = run_cli(home, "limit", "4", env={"MAX_CONCURRENT_AGENTS": "2"})
    assert result.returncode == 0
    assert "overrides" in result.stderr and "MAX_CONCURRENT_AGENTS" in result.stderr
    assert tomllib.loads(home.config_toml.read_text())["max_concurrent_agents"] == 4


def test_limit_shows_the_invalid_value_as_an_error(home):
    result = run_cli(home, "limit", env={"MAX_CONCURRENT_AGENTS": "-1"})
    assert_one_line_error(result, 1, "'-1'", "MAX_CONCURRENT_AGENTS")


# --- agent templates -----------------------------------------------------------------------------


def test_the_default_templates_are_the_opencode_commands_of_the_spec(bare):
    config = load_agent_config(bare)
    assert config.templates == {
        "start": [
            "opencode",
            "run",
            "--session",
            "{base_session_id}",
            "--fork",
            "--title",
            "{issue_ref}",
            "--format",
            "json",
            "--",
            "{message}",
        ],
        "continue": ["opencode", "run", "--session", "{session_id}", "--format", "json", "--", "{message}"],
        "export": ["opencode", "export", "{session_id}"],
        "delete": ["opencode", "session", "delete", "{session_id}"],
        "import": ["opencode", "import", "{export_file}"],
    }
    assert config.templates == DEFAULT_TEMPLATES


def test_a_configured_template_replaces_only_its_step(bare):
    bare.config_toml.write_text('[agent]\nexport = ["my-export", "{session_id}", "--name={name}"]\nstart_wait = 2.5\n')
    config = load_agent_config(bare)
    assert config.template("export") == ["my-export", "{session_id}", "--name={name}"]
    assert config.template("start") == DEFAULT_TEMPLATES["start"]
    assert config.start_wait == 2.5


@pytest.mark.parametrize(
    "toml, needle",
    [
        ('[agent]\nstart = ["x", "{sessionid}"]\n', "unknown placeholder {sessionid}"),
        ('[agent]\ncontinue = ["x", "--m={msg}"]\n', "unknown placeholder {msg}"),
        ('[agent]\nstart = "opencode run --fork"\n', "must be a list of strings"),
        ('[agent]\nexport = ["opencode", 3]\n', "must be a list of strings"),
        ("[agent]\ndelete = {a = 1}\n", "must be a list of strings"),
        ('agent = ["opencode"]\n', "must be a table"),
        ("[agent]\nstart_wait = -1\n", "start_wait"),
        ("[agent]\nstart_wait = true\n", "start_wait"),
        ("[agent]\ncwd = 3\n", "cwd"),
    ],
)
def test_a_bad_agent_config_is_a_clear_error(bare, toml, needle):
    bare.config_toml.write_text(toml)
    with pytest.raises(KugetsuError) as caught:
        load_agent_config(bare)
    assert needle in str(caught.value) and str(bare.config_toml) in str(caught.value)


def test_a_bad_template_refuses_start_with_one_line_and_nothing_written(home):
    demo_agent_config(home, start=["python3", "{base_id}"])
    before = tree_listing(home.root)
    result = run_cli(home, "start", "shoko/kugetsu#1", "hi")
    assert_one_line_error(result, 1, "unknown placeholder {base_id}", "[agent] start")
    assert tree_listing(home.root) == before


def test_an_empty_start_template_turns_starting_off(home):
    demo_agent_config(home, start=[])
    result = run_cli(home, "start", "shoko/kugetsu#1", "hi")
    assert_one_line_error(result, 1, "turned off")
    assert dev_files(home) == []


@pytest.mark.parametrize(
    "value",
    [
        "fix the bug; rm -rf / && echo pwned",
        "{base_session_id} {session_id}",
        "--fork",
        "",
        "multi\nline\tmessage with 'quotes' and \"doubles\" and $(cmd) `cmd` ${HOME}",
    ],
)
def test_render_never_splits_or_reexpands_a_value(value):
    template = ["prog", "run", "--session", "{session_id}", "--title={issue_ref}", "--", "{message}"]
    argv = render(template, {"session_id": "ses_1", "issue_ref": value, "message": value})
    assert len(argv) == len(template)
    assert argv == ["prog", "run", "--session", "ses_1", f"--title={value}", "--", value]


def test_render_refuses_a_placeholder_without_a_value():
    with pytest.raises(KugetsuError, match="base_session_id"):
        render(["x", "{base_session_id}"], {"message": "m"})


def test_render_leaves_non_placeholder_braces_alone():
    assert render(["x", "{0}", "{}", "a{b"], {}) == ["x", "{0}", "{}", "a{b"]


def test_an_unknown_agent_key_is_a_clear_error(bare):
    bare.config_toml.write_text('[agent]\nxexport = ["opencode", "export", "{session_id}"]\n')
    with pytest.raises(KugetsuError, match="unknown key 'xexport'"):
        load_agent_config(bare)


def test_the_server_and_stall_after_keys_are_read(bare):
    assert (load_agent_config(bare).server, load_agent_config(bare).stall_after) == (None, 300.0)
    bare.config_toml.write_text('[agent]\nserver = "http://127.0.0.1:4096"\nstall_after = 90\n')
    config = load_agent_config(bare)
    assert (config.server, config.stall_after) == ("http://127.0.0.1:4096", 90.0)


@pytest.mark.parametrize(
    "toml, needle",
    [
        ('[agent]\nserver = "127.0.0.1:4096"\n', "server must be the URL"),
        ("[agent]\nserver = 4096\n", "server must be the URL"),
        ("[agent]\nstall_after = 0\n", "stall_after"),
        ('[agent]\nstall_after = "5m"\n', "stall_after"),
    ],
)
def test_a_bad_server_or_stall_after_is_a_clear_error(bare, toml, needle):
    bare.config_toml.write_text(toml)
    with pytest.raises(KugetsuError, match=needle):
        load_agent_config(bare)


# --- config.toml is parsed once per command -------------------------------------------------------


class _CountingToml:
    """Stands in for tomllib inside base/config_file.py only, counting whole-file parses."""

    TOMLDecodeError = tomllib.TOMLDecodeError

    def __init__(self) -> None:
        self.parses = 0

    def loads(self, text: str) -> dict:
        self.parses += 1
        return tomllib.loads(text)


class _Terminal(io.StringIO):
    """stdin as a terminal where the operator answers y."""

    def isatty(self) -> bool:
        return True


def test_a_destroy_parses_config_toml_once(home, monkeypatch, tmp_path):
    """Asked on a terminal, in worktree mode, a destroy reads the limit, [agent] and [worktrees]."""
    from kugetsu_tui.base import config_file
    from kugetsu_tui.cli.main import main
    from kugetsu_tui.lifecycle.start import start_session
    from tests.helpers import wait_state
    from tests.unit.worktree_support import REPO_KEY, configure, make_repo

    configure(home, {REPO_KEY: str(make_repo(tmp_path / "widgets"))})
    start_session(home, "acme/widgets#7", "first")
    name = "github.com-acme-widgets-7"
    assert wait_state(home, name, "idle")["worktree_path"]
    config_file._parsed.clear()
    counting = _CountingToml()
    monkeypatch.setattr(config_file, "tomllib", counting)
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    assert main(["--home", str(home.root), "destroy", "acme/widgets#7"]) == 0
    assert not home.session_path(name).exists()
    assert counting.parses == 1


def test_a_changed_config_toml_is_read_again_even_at_the_same_size(home):
    from kugetsu_tui.opencode.settings import load_agent_config

    home.config_toml.write_text("[agent]\nstart_wait = 11\n")
    assert load_agent_config(home).start_wait == 11
    home.config_toml.write_text("[agent]\nstart_wait = 22\n")  # same size, same inode, maybe the same mtime
    assert load_agent_config(home).start_wait == 22
    home.config_toml.unlink()
    assert load_toml(home) == {}


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_a_config_toml_that_is_not_a_regular_file_is_one_clear_error_and_never_blocks(home, kind):
    home.config_toml.unlink()
    if kind == "fifo":
        os.mkfifo(home.config_toml)  # opened blocking, it would wait for a writer forever
    elif kind == "directory":
        home.config_toml.mkdir()
    else:
        home.config_toml.symlink_to("/dev/zero")  # read whole, it never ends
    with pytest.raises(KugetsuError, match="is not a regular file"):
        load_toml(home)
    result = run_cli(home, "limit")
    assert_one_line_error(result, 1, str(home.config_toml), "not a regular file")


def test_a_config_toml_over_the_size_cap_is_refused(home):
    home.config_toml.write_bytes(b"# " + b"x" * (1024 * 1024) + b"\n")
    with pytest.raises(KugetsuError, match="larger than 1024 KiB"):
        load_toml(home)


def test_save_limit_leaves_the_parsed_config_it_read_unchanged(home):
    home.config_toml.write_text("[agent]\nstart_wait = 5\n")
    before = load_toml(home)
    save_limit(home, 4)
    assert "max_concurrent_agents" not in before
    assert load_toml(home)["max_concurrent_agents"] == 4 and load_toml(home)["agent"] == {"start_wait": 5}
