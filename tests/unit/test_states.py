"""One vocabulary of states: what a file records, what is shown, and what each state means."""

from __future__ import annotations

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.lifecycle.archive import destroy_steps
from kugetsu_tui.sessions.files import read_session
from kugetsu_tui.sessions.overview import view
from kugetsu_tui.sessions.states import MEANINGS, State
from tests.helpers import write_session


def test_every_state_has_a_meaning() -> None:
    assert set(MEANINGS) == set(State)


@pytest.mark.parametrize(
    ("recorded", "state"),
    [
        ("idle", State.IDLE),
        ("timeout", State.TIMEOUT),
        ("left", State.LEFT),
        ("used", State.USED),
        ("no-such-state", State.UNKNOWN),
        (None, State.UNKNOWN),
        (7, State.UNKNOWN),
    ],
)
def test_recorded_values_map_onto_the_vocabulary(recorded: object, state: State) -> None:
    assert State.recorded(recorded) is state


def test_kugetsus_timeout_is_shown_with_what_it_means(home: Home) -> None:
    write_session(home, "a", state="timeout")
    shown = view(read_session(home.session_path("a")))
    assert shown.shown_state is State.TIMEOUT
    assert shown.error is not None and "TASK_TIMEOUT_HOURS" in shown.error
    assert shown.as_json()["state"] == "timeout"


def test_an_unrecognised_state_is_unknown_and_says_what_the_file_holds(home: Home) -> None:
    write_session(home, "a", state="paused")
    shown = view(read_session(home.session_path("a")))
    assert shown.shown_state is State.UNKNOWN and shown.error == "unrecognised state 'paused'"


def test_a_running_session_whose_processes_are_gone_is_shown_failed(home: Home) -> None:
    write_session(home, "a", state="running", pid=4_000_000, supervisor_pid=4_000_001)
    session = read_session(home.session_path("a"))
    shown = view(session)
    assert session.recorded_state is State.RUNNING and shown.shown_state is State.FAILED
    assert shown.error == "vanished: its agent process is gone without recording an exit status"


def test_destroy_steps_say_what_happens_to_a_dev_session(home: Home) -> None:
    write_session(home, "a", state="running", pid=4242)
    session = read_session(home.session_path("a"))
    steps = destroy_steps(session, alive=True, active=3, limit=3)
    assert steps[0] == "its agent (pid 4242) is stopped"
    assert "transcript is exported" in steps[1] and "archive" in steps[2]
    assert steps[-1] == "a slot is freed (2/3 after)"
    write_session(home, "b", worktree_path="/src/widgets-wt/b", branch_name="fix/issue-2")
    with_worktree = destroy_steps(read_session(home.session_path("b")), alive=False, active=3, limit=3)
    assert any("worktree /src/widgets-wt/b is saved" in step for step in with_worktree)
    sized = destroy_steps(read_session(home.session_path("b")), False, 3, 3, diff="2 files, +3 -1, 1 uncommitted")
    assert any("worktree /src/widgets-wt/b (diff: 2 files, +3 -1, 1 uncommitted) is saved" in step for step in sized)
    assert not any("worktree" in step for step in steps)
    base = read_session(home.session_path("base"))
    assert not any("slot" in step for step in destroy_steps(base, alive=False, active=3, limit=None))
