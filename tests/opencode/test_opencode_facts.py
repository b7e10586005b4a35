"""Pins down the facts about the real opencode CLI (opencode-ai 1.18.33) that kugetsu_tui relies on.

No kugetsu_tui code here: raw opencode against the fake model on 127.0.0.1. When opencode's pinned
version changes, these tests say which assumption broke.

Verified facts (and surprises), each pinned below:
- `run --session BASE --fork --title T --format json MSG`: exit 0, stdout one JSON event a line
  (step_start, text, step_finish), each with "sessionID" == the NEW fork's id; stderr empty.
  --title is ignored with --fork: the fork is titled "<base title> (fork #N)".
- `run --session ID --format json MSG` continues ID (the same sessionID in every event) and adds a
  user and an assistant message to the export.
- `export ID`: the session as JSON {"info": {"id", "slug", "projectID", "directory", "title", ...},
  "messages": [{"info": {...}, "parts": [...]}, ...]} on stdout; "Exporting session: ID" on stderr.
  Works from any cwd.
- `session delete ID`: exit 0, stdout empty, "Session ID deleted" on stderr; a second delete exits
  1 with "Error: Session not found: ID" on stderr. Works from any cwd.
- `import FILE`: exit 0, "Imported session: ID" on stdout; same id back; idempotent. It files the
  session under the cwd's project and directory (it rewrites info.directory), so run it in the
  directory the session belongs to.
- `run --session UNKNOWN ...` (with or without --fork): exit 1, stdout empty,
  "Error: Session not found" on stderr.
- `session list --format json` lists the cwd's project only (a git repo's project is named by its
  root commit; any directory with no git commit is the shared "global" project), and prints
  nothing at all (not "[]") when the project has no session.
- `run` takes its directory from $PWD when it is set, not from the real cwd (`session list` and
  `import` use the real cwd): a caller that sets cwd= must set PWD to match (or pass --dir).
- `run --session ID` from a directory ($PWD) other than the session's (even a subdirectory of the
  same project) sends the message but prints nothing and never exits; `--dir <session directory>`
  fixes it. A fork keeps the base's directory.
- A message argument containing a space reaches the model wrapped in double quotes; a message
  starting with "-" is taken as an option (exit 1, usage on stderr) unless "--" precedes it.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from .harness import CommandTimeout, OpenCode, session_id_of

pytestmark = pytest.mark.opencode


def _texts(result) -> list[str]:
    return [e["part"]["text"] for e in result.json_lines() if e.get("type") == "text"]


def test_pinned_version(opencode: OpenCode) -> None:
    result = opencode("--version", check=True)
    assert result.stdout.strip() == "1.18.33"


def test_base_session_is_listed(opencode: OpenCode, base_session: str, fake_model) -> None:
    assert base_session.startswith("ses_")
    assert base_session in opencode.session_ids()
    assert fake_model.completions >= 1, "the fake model was never called"


def test_fork_prints_new_id_on_every_json_line(opencode: OpenCode, base_session: str, fake_model) -> None:
    calls = fake_model.completions
    started = time.monotonic()
    result = opencode.run("fork me", session=base_session, fork=True, title="github.com/acme/widgets#7")
    elapsed = time.monotonic() - started
    print(f"\n[fact] opencode run --fork took {elapsed:.2f}s (exit {result.returncode})")

    assert result.returncode == 0, result.describe()
    assert result.stderr.strip() == "", result.describe()
    events = result.json_lines()
    assert events and len(events) == len(result.stdout.strip().splitlines()), "every stdout line is a JSON event"
    types = [e["type"] for e in events]
    assert types[0] == "step_start" and types[-1] == "step_finish" and "text" in types, types
    for event in events:
        assert set(event) >= {"type", "timestamp", "sessionID", "part"}, event
    fork_id = session_id_of(result)
    assert fork_id != base_session and fork_id.startswith("ses_")
    assert _texts(result) == ['ack: "fork me"'], "a message with a space reaches the model in double quotes"
    assert fake_model.completions > calls

    listed = {s["id"]: s for s in opencode.session_list()}
    assert fork_id in listed and base_session in listed
    assert set(listed[fork_id]) == {"id", "title", "updated", "created", "projectId", "directory"}
    # --title is ignored with --fork: the title is the base's plus " (fork #N)".
    assert listed[fork_id]["title"] != "github.com/acme/widgets#7"
    assert re.fullmatch(re.escape(listed[base_session]["title"]) + r" \(fork #\d+\)", listed[fork_id]["title"]), listed[
        fork_id
    ]["title"]
    assert listed[fork_id]["directory"] == str(opencode.project)

    # The fork starts with a copy of the base's messages (re-keyed to the fork) plus its own two.
    base_messages = opencode.message_count(base_session)
    assert opencode.message_count(fork_id) == base_messages + 2


@pytest.fixture(scope="module")
def fork_id(opencode: OpenCode, base_session: str) -> str:
    """One fork shared by the tests that only continue it (a fork costs ~4-5 s)."""
    return opencode.fork(base_session, "shared fork")


def test_continue_keeps_id_and_grows_transcript(opencode: OpenCode, fork_id: str) -> None:
    """Also: a message starting with "-" needs "--" before it (without, see the next test)."""
    before = opencode.export(fork_id)
    result = opencode("run", "--session", fork_id, "--format", "json", "--", "--second", check=True)
    assert session_id_of(result) == fork_id
    assert _texts(result) == ["ack: --second"]
    after = opencode.export(fork_id)
    assert len(after["messages"]) == len(before["messages"]) + 2
    assert [m["info"]["role"] for m in after["messages"][-2:]] == ["user", "assistant"]


def test_message_starting_with_dash_is_taken_as_an_option(opencode: OpenCode, fork_id: str) -> None:
    bad = opencode("run", "--session", fork_id, "--format", "json", "--weird")
    assert bad.returncode == 1, bad.describe()
    assert bad.stdout == "" and "opencode run [message..]" in bad.stderr


def test_export_shape_and_streams(opencode: OpenCode, base_session: str) -> None:
    result = opencode("export", base_session, check=True)
    assert result.stderr.strip() == f"Exporting session: {base_session}"
    data = json.loads(result.stdout)
    assert set(data) == {"info", "messages"}
    assert data["info"]["id"] == base_session
    assert set(data["info"]) >= {"id", "slug", "projectID", "directory", "title", "version", "time"}
    assert data["info"]["directory"] == str(opencode.project)
    assert data["info"]["version"] == "1.18.33"
    assert data["messages"] and set(data["messages"][0]) == {"info", "parts"}
    assert data["messages"][0]["info"]["role"] == "user"


def test_delete_then_import_round_trip(opencode: OpenCode, base_session: str, make_project, tmp_path) -> None:
    """delete and export work from any cwd; import files the session under the cwd's project."""
    other = make_project("other-project")
    fork = opencode.fork(base_session, "to be deleted")
    exported = opencode("export", fork, check=True)
    dump = tmp_path / f"{fork}.json"
    dump.write_text(exported.stdout, "utf-8")
    messages = len(json.loads(exported.stdout)["messages"])

    deleted = opencode.delete(fork, cwd=other)
    assert deleted.returncode == 0, deleted.describe()
    assert deleted.stdout.strip() == ""
    assert f"Session {fork} deleted" in deleted.stderr
    assert fork not in opencode.session_ids()

    again = opencode.delete(fork)
    assert again.returncode == 1, again.describe()
    assert f"Session not found: {fork}" in again.stderr and again.stdout.strip() == ""
    gone = opencode("export", fork)
    assert gone.returncode == 1 and "Session not found" in gone.stderr, gone.describe()

    # Imported from another project's directory, the session lands in THAT project.
    imported = opencode.import_file(dump, cwd=other)
    assert imported.returncode == 0, imported.describe()
    assert imported.stdout.strip() == f"Imported session: {fork}"
    assert fork in opencode.session_ids(cwd=other)
    assert fork not in opencode.session_ids()
    assert opencode.export(fork)["info"]["directory"] == str(other)

    # Imported again from its own directory (import is an upsert), it is back where it was.
    assert opencode.import_file(dump).returncode == 0
    listed = opencode.session_ids()
    assert listed.count(fork) == 1
    back = opencode.export(fork)
    assert back["info"]["id"] == fork and back["info"]["directory"] == str(opencode.project)
    assert len(back["messages"]) == messages


def test_session_list_is_per_project(opencode: OpenCode, base_session: str, make_project) -> None:
    other = make_project("empty-project")
    empty = opencode("session", "list", "--format", "json", cwd=other, check=True)
    assert empty.stdout == "", "no session: nothing at all is printed, not []"
    assert opencode.export(base_session, cwd=other)["info"]["id"] == base_session, "export works from anywhere"


@pytest.mark.parametrize("fork", [False, True], ids=["continue", "fork"])
def test_unknown_session(opencode: OpenCode, fork: bool) -> None:
    result = opencode.run("hi", session="ses_doesnotexist0000000000", fork=fork, check=False)
    assert result.returncode == 1, result.describe()
    assert result.stdout.strip() == ""
    assert "Session not found" in result.stderr, "the error is on stderr"


def test_run_needs_the_session_directory(opencode: OpenCode, fork_id: str, fake_model) -> None:
    """From another directory `run --session` does the work but never exits; --dir fixes it."""
    sub = opencode.project / "sub"
    sub.mkdir(exist_ok=True)
    before = opencode.message_count(fork_id)
    calls = fake_model.completions
    with pytest.raises(CommandTimeout):
        # A normal run takes ~5 s here: 15 s without an exit is the hang.
        opencode("run", "--session", fork_id, "--format", "json", "from a subdirectory", cwd=sub, timeout=15)
    assert fake_model.completions > calls, "the message was sent all the same"
    assert opencode.message_count(fork_id) == before + 2

    result = opencode(
        "run",
        "--dir",
        str(opencode.project),
        "--session",
        fork_id,
        "--format",
        "json",
        "with --dir",
        cwd=sub,
        check=True,
    )
    assert session_id_of(result) == fork_id


def test_run_takes_its_directory_from_PWD(opencode: OpenCode, make_project) -> None:
    """`run` files a new session under $PWD, whatever the real cwd; `session list` uses the real cwd."""
    other = make_project("pwd-project")
    new_id = session_id_of(opencode.run("where am I", cwd=opencode.project, pwd=other))
    assert opencode.export(new_id)["info"]["directory"] == str(other)
    assert new_id in opencode.session_ids(cwd=other)
    assert new_id not in opencode.session_ids(cwd=opencode.project)
