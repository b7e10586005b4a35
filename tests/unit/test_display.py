"""Plain-text formatting shared by the CLI and the console: escapes, ages, agent log lines."""

from __future__ import annotations

import json

import pytest

from kugetsu_tui.display import age, agent_log_line, printable


def test_control_characters_are_shown_not_sent() -> None:
    assert printable("a\x1b[31mb\x07\x9b") == "a\\x1b[31mb\\x07\\x9b"
    assert printable(None) == ""


@pytest.mark.parametrize(("seconds", "coarse", "text"), [
    (5, False, "5s"), (5, True, "<1m"), (61, True, "1m"), (7200, False, "2h"), (3 * 86400, True, "3d"),
    (-1, False, ""), (None, False, ""),
])
def test_ages(seconds, coarse, text) -> None:
    assert age(seconds, coarse=coarse) == text


@pytest.mark.parametrize(("event", "text"), [
    ({"type": "text", "sessionID": "ses_1", "part": {"type": "text", "text": "fixed it\nall"}}, "fixed it ⏎ all"),
    ({"type": "step_start", "part": {"type": "step-start"}}, "[step start]"),
    ({"type": "step_finish", "part": {"reason": "stop"}}, "[step finish: stop]"),
    ({"type": "tool_use", "part": {"tool": "bash", "state": {"status": "completed"}}}, "[tool] bash completed"),
    ({"type": "error", "error": {"name": "E", "data": {"message": "Session not found"}}}, "[error] Session not found"),
    ({"type": "text", "part": {"text": "\x1b[2J[b]not bold[/b]"}}, "\\x1b[2J[b]not bold[/b]"),
])
def test_agent_events_read_as_words(event, text) -> None:
    assert agent_log_line(json.dumps(event)) == text


@pytest.mark.parametrize("line", ["Error: Session not found", "[1, 2]", '{"no": "type"}', "{broken"])
def test_other_lines_are_shown_as_they_are(line) -> None:
    assert agent_log_line(line) == line
