"""opencode's JSON events, read in one place: session ids, log lines as words, and last words."""

from __future__ import annotations

import json

import pytest

from kugetsu_tui.opencode.events import last_words, log_line_words, session_id_from_line


@pytest.mark.parametrize(
    "line, sid",
    [
        (b'{"type":"step_start","timestamp":1795371107970,"sessionID":"ses_dfb8afef","part":{}}\n', "ses_dfb8afef"),
        (b'{"type":"text","part":{"sessionID":"ses_in_part"}}', "ses_in_part"),
        (b'{"type":"text","sessionID":"ses_top","part":{"sessionID":"ses_part"}}', "ses_top"),
        (b'{"type":"text","sessionID":""}', None),
        (b'{"type":"text","sessionID":42}', None),
        (b'{"type":"error","error":{"name":"x"}}', None),
        (b'["sessionID", "ses_x"]', None),
        (b"Error: Session not found\n", None),
        (b"", None),
        (b"\xff\xfe not utf-8", None),
        (b'"ses_x"', None),
    ],
)
def test_session_id_from_line(line, sid):
    assert session_id_from_line(line) == sid


@pytest.mark.parametrize(
    ("event", "text"),
    [
        ({"type": "text", "sessionID": "ses_1", "part": {"type": "text", "text": "fixed it\nall"}}, "fixed it ⏎ all"),
        ({"type": "step_start", "part": {"type": "step-start"}}, "[step start]"),
        ({"type": "step_finish", "part": {"reason": "stop"}}, "[step finish: stop]"),
        ({"type": "tool_use", "part": {"tool": "bash", "state": {"status": "completed"}}}, "[tool] bash completed"),
        (
            {"type": "error", "error": {"name": "E", "data": {"message": "Session not found"}}},
            "[error] Session not found",
        ),
        ({"type": "text", "part": {"text": "\x1b[2J[b]not bold[/b]"}}, "\\x1b[2J[b]not bold[/b]"),
    ],
)
def test_agent_events_read_as_words(event, text) -> None:
    assert log_line_words(json.dumps(event)) == text


@pytest.mark.parametrize("line", ["Error: Session not found", "[1, 2]", '{"no": "type"}', "{broken"])
def test_other_lines_are_shown_as_they_are(line) -> None:
    assert log_line_words(line) == line


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ({"name": "UnknownError", "data": {"message": "Session not found"}}, "Session not found"),
        ({"name": "ProviderAuthError", "data": {}}, "ProviderAuthError"),
        ("plain words", "plain words"),
    ],
)
def test_an_error_event_reads_the_same_in_the_log_and_in_last_words(error, said):
    """One parser: the details pane and a failed start's message never disagree."""
    line = json.dumps({"type": "error", "error": error})
    assert log_line_words(line) == f"[error] {said}"
    assert last_words(f'{{"type":"text","part":{{"text":"hi"}}}}\n{line}\n') == said


@pytest.mark.parametrize(
    ("output", "said"),
    [
        (b"Resolving...\nError: Session not found\n", "Error: Session not found"),
        (b"one\ntwo\n", "two"),
        (b"", "no output"),
        ("x" * 400, "x" * 300),
    ],
)
def test_last_words_of_plain_output(output, said):
    assert last_words(output) == said
