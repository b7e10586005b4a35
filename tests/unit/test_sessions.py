"""Session files: kind by name, the count by exclusion, hostile files, safe updates."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from kugetsu_tui.base import atomic
from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.files import (
    MAX_SESSION_BYTES,
    count_active,
    is_session_filename,
    kind_for_filename,
    list_sessions,
    read_session,
    update_session,
)
from tests.helpers import SEED_DEV_NAMES, write_session


@pytest.fixture
def bare(tmp_path) -> Home:
    home = Home(tmp_path / "home")
    home.ensure(home.root, home.sessions_dir)
    return home


# --- kind and what is a session -------------------------------------------------------------


@pytest.mark.parametrize(
    "filename, kind",
    [
        ("base.json", "base"),
        ("pm-agent.json", "pm"),
        ("github.com-shoko-kugetsu-49.json", "dev"),
        ("issue-1.json", "dev"),
        ("weird.json", "dev"),
        ("Base.json", "dev"),
        ("pm_agent.json", "dev"),
        ("base.json.json", "dev"),
    ],
)
def test_kind_comes_from_the_file_name_alone(filename, kind):
    assert kind_for_filename(filename) == kind


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("x.json", True),
        ("github.com-shoko-kugetsu-49.json", True),
        (".x.json.tmp", False),
        (".github.com-a-b-1.json.k2j3.tmp", False),
        (".lock", False),
        (".hidden.json", False),
        ("x.json.bak", False),
        ("x.jsonl", False),
        ("README", False),
    ],
)
def test_session_files_are_visible_star_dot_json(filename, expected):
    assert is_session_filename(filename) is expected


def test_the_count_is_every_dev_json_whatever_its_name(bare):
    for name in [*SEED_DEV_NAMES, "issue-1", "weird"]:
        write_session(bare, name)
    write_session(bare, "base", {"type": "base", "opencode_session_id": "ses_base"})
    write_session(bare, "pm-agent", {"type": "pm_agent", "opencode_session_id": "ses_pm"})
    (bare.sessions_dir / ".github.com-x-y-1.json.abc.tmp").write_text("{}")
    (bare.sessions_dir / ".lock").write_text("")
    (bare.sessions_dir / ".hidden.json").write_text("{}")
    (bare.sessions_dir / "notes.txt").write_text("x")
    assert count_active(bare) == len(SEED_DEV_NAMES) + 2 == 5
    # kugetsu's broken count matched none of the real names; ours never depends on the name
    assert len(list(bare.sessions_dir.glob("issue-*.json"))) == 1
    kinds = sorted((s.name, s.kind) for s in list_sessions(bare))
    assert ("base", "base") in kinds and ("pm-agent", "pm") in kinds
    assert sum(1 for _, k in kinds if k == "dev") == 5
    assert not any(name.startswith(".") for name, _ in kinds)


def test_the_count_of_a_missing_home_is_zero(tmp_path):
    home = Home(tmp_path / "nowhere")
    assert count_active(home) == 0
    assert list_sessions(home) == []
    assert not home.root.exists()


def test_sessions_list_base_then_pm_then_dev_in_creation_order(bare):
    write_session(bare, "late", created_at="2026-04-02T10:00:00+00:00")
    write_session(bare, "early", created_at="2026-04-01T10:00:00Z")
    write_session(bare, "pm-agent", {"type": "pm_agent", "created_at": "2026-05-01T00:00:00+00:00"})
    write_session(bare, "base", {"type": "base", "created_at": "2026-06-01T00:00:00+00:00"})
    assert [s.name for s in list_sessions(bare)] == ["base", "pm-agent", "early", "late"]


def test_fields_are_read_as_kugetsu_writes_them(bare):
    path = write_session(
        bare,
        "github.com-shoko-kugetsu-14",
        {
            "type": "forked",
            "issue_ref": "github.com/shoko/kugetsu#14",
            "opencode_session_id": "ses_xyz789",
            "created_at": "2026-03-29T18:16:10+02:00",
            "state": "idle",
        },
    )
    session = read_session(path)
    assert (
        session.name,
        session.kind,
        session.recorded_state,
        session.issue_ref,
        session.opencode_session_id,
        session.created_at,
        session.error,
    ) == (
        "github.com-shoko-kugetsu-14",
        "dev",
        "idle",
        "github.com/shoko/kugetsu#14",
        "ses_xyz789",
        "2026-03-29T18:16:10+02:00",
        None,
    )
    assert session.pid is None


@pytest.mark.parametrize("value", [True, -5, 0, "123", 1.5, None])
def test_a_pid_that_is_not_a_positive_int_is_ignored(bare, value):
    session = read_session(write_session(bare, "x", pid=value))
    assert session.pid is None and not session.corrupt


def test_missing_state_is_unknown_not_corrupt(bare):
    session = read_session(write_session(bare, "x", {"type": "forked"}))
    assert session.recorded_state == "unknown" and session.error is None


# --- hostile files --------------------------------------------------------------------------


def _fifo(path):
    os.mkfifo(path)


HOSTILE = {
    "broken JSON": (lambda p: p.write_text('{"type": "forked", "state": '), "invalid JSON"),
    "empty": (lambda p: p.write_bytes(b""), "empty"),
    "whitespace only": (lambda p: p.write_bytes(b"  \n\t "), "empty"),
    "binary bytes": (lambda p: p.write_bytes(bytes(range(256)) * 4), "UTF-8"),
    "NUL bytes": (lambda p: p.write_bytes(b"\x00" * 64), "invalid JSON"),
    "a JSON array": (lambda p: p.write_text('[{"state": "idle"}]'), "JSON array where an object"),
    "a JSON string": (lambda p: p.write_text('"idle"'), "str"),
    "JSON null": (lambda p: p.write_text("null"), "JSON null where an object"),
    "nested too deeply": (lambda p: p.write_text("[" * 200000 + "]" * 200000), "JSON"),
    "over 1 MiB": (lambda p: p.write_text(json.dumps({"state": "idle", "pad": "x" * MAX_SESSION_BYTES})), "1 MiB"),
    "a directory": (lambda p: p.mkdir(), "not a regular file"),
    "a FIFO": (_fifo, "not a regular file"),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("filename, kind", [("x.json", "dev"), ("base.json", "base"), ("pm-agent.json", "pm")])
def test_a_hostile_file_is_a_corrupt_session_with_a_reason_and_still_counts(bare, case, filename, kind):
    make, reason = HOSTILE[case]
    path = bare.sessions_dir / filename
    make(path)
    session = read_session(path)
    assert session.kind == kind
    assert session.recorded_state == "corrupt" and session.corrupt
    assert session.error and reason in session.error
    assert session.data == {}
    listed = [s for s in list_sessions(bare) if s.name == filename[:-5]]
    assert len(listed) == 1 and listed[0].corrupt
    assert count_active(bare) == (1 if kind == "dev" else 0)


def test_a_file_of_exactly_1_mib_is_still_read(bare):
    text = json.dumps({"state": "idle", "pad": ""})
    text = text.replace('""', '"' + "x" * (MAX_SESSION_BYTES - len(text)) + '"')
    path = bare.sessions_dir / "big.json"
    path.write_text(text)
    assert path.stat().st_size == MAX_SESSION_BYTES
    assert read_session(path).recorded_state == "idle"
    path.write_text(text.replace('"x', '"xx'))
    assert read_session(path).corrupt


@pytest.mark.timeout(20)
@pytest.mark.parametrize("target_kind", ["valid session", "FIFO", "directory", "missing"])
def test_a_symlink_is_a_corrupt_session_and_is_never_followed(bare, tmp_path, target_kind):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "real.json"
    if target_kind == "valid session":
        target.write_text(
            json.dumps(
                {"type": "forked", "issue_ref": "github.com/a/b#1", "opencode_session_id": "ses_real", "state": "idle"}
            )
        )
    elif target_kind == "FIFO":
        os.mkfifo(target)
    elif target_kind == "directory":
        target.mkdir()
    before = target.read_bytes() if target_kind == "valid session" else None
    link = bare.sessions_dir / "github.com-a-b-1.json"
    link.symlink_to(target)
    session = read_session(link)
    assert session.corrupt and "symlink" in session.error
    assert session.opencode_session_id is None and session.data == {}
    assert count_active(bare) == 1
    assert update_session(bare, "github.com-a-b-1", lambda d: d.update(state="hacked")) is None
    assert link.is_symlink()
    if before is not None:
        assert target.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: chmod 000 does not stop root from reading")
def test_an_unreadable_file_is_corrupt(bare):
    path = write_session(bare, "locked")
    path.chmod(0)
    try:
        session = read_session(path)
        assert session.corrupt and "permission denied" in session.error
        assert count_active(bare) == 1
    finally:
        path.chmod(0o600)


def test_an_unreadable_file_is_corrupt_even_when_simulated_for_root(bare, monkeypatch):
    path = write_session(bare, "locked")
    real_open = os.open

    def deny(p, *args, **kwargs):
        if os.fspath(p) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(p))
        return real_open(p, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    session = read_session(path)
    assert session.corrupt and "permission denied" in session.error
    assert count_active(bare) == 1


def test_read_session_raises_file_not_found_for_a_vanished_file(bare):
    with pytest.raises(FileNotFoundError):
        read_session(bare.sessions_dir / "gone.json")


# --- updates ---------------------------------------------------------------------------------


def test_update_session_keeps_unknown_fields(bare):
    path = write_session(bare, "x", kugetsu_v3_field={"nested": [1, 2]}, labels=["a"], run_id="r1")
    result = update_session(bare, "x", lambda d: d.update(state="running", pid=123), run_id="r1")
    data = json.loads(path.read_text())
    assert result == data
    assert data["kugetsu_v3_field"] == {"nested": [1, 2]} and data["labels"] == ["a"]
    assert data["state"] == "running" and data["pid"] == 123
    assert data["issue_ref"].startswith("github.com/shoko/kugetsu#")


def test_update_session_may_return_a_replacement_dict(bare):
    path = write_session(bare, "x")
    update_session(bare, "x", lambda d: {"only": "this"})
    assert json.loads(path.read_text()) == {"only": "this"}


def test_update_session_refuses_a_mismatched_run_id(bare):
    path = write_session(bare, "x", run_id="current")
    before = path.read_bytes()
    assert update_session(bare, "x", lambda d: d.update(state="idle"), run_id="old-launch") is None
    assert path.read_bytes() == before
    no_run_id = write_session(bare, "y")
    assert update_session(bare, "y", lambda d: d.update(state="idle"), run_id="any") is None
    assert "run_id" not in json.loads(no_run_id.read_text())


def test_update_session_never_resurrects_a_missing_file(bare):
    assert update_session(bare, "gone", lambda d: d.update(state="idle")) is None
    assert not (bare.sessions_dir / "gone.json").exists()


def test_update_session_never_rewrites_a_corrupt_file(bare):
    path = bare.sessions_dir / "x.json"
    path.write_bytes(b"{broken")
    assert update_session(bare, "x", lambda d: d.update(state="idle")) is None
    assert path.read_bytes() == b"{broken"


def test_writes_are_atomic_renames_with_mode_0600(bare):
    path = write_session(bare, "x")
    path.chmod(0o644)
    inode = path.stat().st_ino
    update_session(bare, "x", lambda d: d.update(state="running"))
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_ino != inode  # replaced by rename, not rewritten in place
    assert sorted(os.listdir(bare.sessions_dir)) == [".lock", "x.json"]  # no temp file left


def test_a_reader_never_sees_half_a_file(bare):
    write_session(bare, "x", pad="a" * 300_000)
    errors: list[str | None] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            session = read_session(bare.sessions_dir / "x.json")
            if session.corrupt:
                errors.append(session.error)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(60):
            update_session(bare, "x", lambda d, i=i: d.update(pad=str(i % 10) * 300_000, n=i))
    finally:
        done.set()
        thread.join()
    assert errors == []
    assert json.loads((bare.sessions_dir / "x.json").read_text())["n"] == 59


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temp(bare, monkeypatch):
    path = write_session(bare, "x")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic.write_json(path, {"state": "new"})
    assert path.read_bytes() == before
    assert sorted(os.listdir(bare.sessions_dir)) == ["x.json"]


def test_atomic_write_mode_is_0600_whatever_the_umask(bare):
    old = os.umask(0)
    try:
        atomic.write_json(bare.root / "f.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((bare.root / "f.json").stat().st_mode) == 0o600
    assert json.loads((bare.root / "f.json").read_text()) == {"a": 1}
