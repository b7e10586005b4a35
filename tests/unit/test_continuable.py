"""The one continue check, shared by `continue` and the console's `c` (which says it before any dialog)."""

from __future__ import annotations

from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions.continuable import continue_refusal
from kugetsu_tui.sessions.files import read_session
from tests.helpers import write_session


def test_a_session_is_refused_for_a_corrupt_file_a_missing_or_bad_id_and_a_live_agent(home: Home) -> None:
    write_session(home, "corrupt", b"{not json")
    write_session(home, "no-id", {"type": "forked", "issue_ref": "github.com/acme/widgets#1"})
    write_session(home, "bad-id", {"type": "forked", "opencode_session_id": "../../etc"})
    write_session(home, "fine", {"type": "forked", "opencode_session_id": "ses_abc123", "pid": 4242})

    def refusal(name: str, alive: bool = False) -> str | None:
        return continue_refusal(read_session(home.session_path(name)), alive)

    assert "its file is unusable" in (refusal("corrupt") or "")
    assert refusal("no-id") == "cannot continue no-id: it has no opencode session id yet"
    assert "its opencode_session_id" in (refusal("bad-id") or "")
    assert refusal("fine", alive=True) == "cannot continue fine: its agent is still running (pid 4242)"
    assert refusal("fine") is None
