"""The one table of session-file fields: it names every field our code writes, each with whose it is and its role."""

from __future__ import annotations

import json

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.lifecycle import archive
from kugetsu_tui.lifecycle.archive import destroy_session, restore_session
from kugetsu_tui.lifecycle.park import park_session, resume_session
from kugetsu_tui.lifecycle.start import continue_session, start_session
from kugetsu_tui.sessions.fields import CLAIM, FIELDS, INTERNAL, KUGETSU, RUNTIME
from kugetsu_tui.sessions.parked import parked_path
from tests.helpers import demo_agent_config, wait_state
from tests.unit.worktree_support import REPO_KEY, configure, make_repo

NAME = "github.com-acme-widgets-1"


def test_every_field_our_code_writes_is_in_the_table_and_every_field_of_ours_is_written(home, tmp_path, monkeypatch):
    """Through every writer: the start's placeholder in a worktree, the supervisor, continue, a failed run, restore
    (its reservation too, seen at the fault point right after it)."""
    configure(home, {REPO_KEY: str(make_repo(tmp_path / "widgets"))})
    written: set[str] = set()

    def at_fault_point(label: str) -> None:
        if label == "slot reserved":
            written.update(json.loads(home.session_path(NAME).read_text()))

    monkeypatch.setattr(archive, "fault_point", at_fault_point)
    start_session(home, "acme/widgets#1", "work")
    written.update(wait_state(home, NAME, "idle"))
    demo_agent_config(home, fail=True)
    with pytest.raises(KugetsuError, match="simulated failure"):
        continue_session(home, NAME, "again")
    written.update(wait_state(home, NAME, "failed"))
    park_session(home, NAME, waiting=lambda session: None, activity=lambda session: None)
    written.update(json.loads(parked_path(home, NAME).read_text()))
    resume_session(home, NAME)
    destroy_session(home, NAME)
    restored = restore_session(home, NAME).data
    written.update(restored)

    assert sorted(written - FIELDS.keys()) == []  # a field written by our code that the table does not name
    assert sorted(FIELDS.keys() - KUGETSU - written) == []  # a field the table calls ours that nothing writes
    assert sorted(restored.keys() & RUNTIME) == []  # a restore clears the old run, its claim with it
    assert "restored_at" in restored


def test_a_claim_belongs_to_one_run_and_kugetsus_fields_are_never_our_bookkeeping():
    """A claim field kept through a restore would look like the old launch's; one of kugetsu's shown apart, hidden."""
    assert CLAIM == {"run_id", "starter_pid", "starter_started"}
    assert CLAIM <= RUNTIME & INTERNAL
    assert not KUGETSU & (RUNTIME | INTERNAL)
