"""The export/import fork: opencode's id form, and an export made into a new session elsewhere."""

from __future__ import annotations

import json
import re

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.opencode.directories import export_directory
from kugetsu_tui.opencode.fork import new_id, new_session_id, relocated

NOW = 1795371107970  # the timestamp of a real fork event (opencode-ai 1.18.33)
NOW_36 = NOW & ((1 << 36) - 1)  # ms * 0x1000 is kept to 48 bits: the time's low 36 bits survive


def test_session_ids_have_opencodes_form_with_the_time_in_the_first_12_characters():
    sid = new_session_id()
    assert re.fullmatch(r"ses_[0-9a-f]{12}[0-9A-Za-z]{14}", sid)
    # descending: the 48 bits of (ms * 0x1000 + counter) inverted, as in the real fork's id ses_dfb8af…
    made = new_id("ses", descending=True, now_ms=NOW)
    assert made.startswith("ses_dfb8af") and (~int(made[4:16], 16) & (1 << 48) - 1) >> 12 == NOW_36
    older, newer = new_id("ses", descending=True, now_ms=NOW), new_id("ses", descending=True, now_ms=NOW + 1)
    assert newer < older  # newest sessions sort first


def test_message_ids_ascend_even_within_one_millisecond():
    ids = [new_id("msg", now_ms=NOW) for _ in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5 and int(ids[0][4:16], 16) >> 12 == NOW_36


EXPORT = {
    "info": {
        "id": "ses_base",
        "slug": "calm-river",
        "directory": "/src/widgets",
        "title": "base",
        "path": {"cwd": "/src/widgets", "root": "/src"},
        "time": {"created": 1, "updated": 2},
    },
    "messages": [
        {
            "info": {"id": "msg_a", "sessionID": "ses_base", "role": "user"},
            "parts": [{"id": "prt_1", "sessionID": "ses_base", "messageID": "msg_a", "type": "text", "text": "hi"}],
        },
        {
            "info": {"id": "msg_b", "sessionID": "ses_base", "role": "assistant", "parentID": "msg_a"},
            "parts": [{"id": "prt_2", "sessionID": "ses_base", "messageID": "msg_b", "type": "text", "text": "ack"}],
        },
    ],
}


def test_relocated_gives_the_copy_its_own_ids_and_directory():
    copy = relocated(json.dumps(EXPORT).encode(), "ses_new", "/wt/one", "github.com/acme/widgets#1")
    info = copy["info"]
    assert (info["id"], info["directory"], info["title"]) == ("ses_new", "/wt/one", "github.com/acme/widgets#1")
    assert info["path"] == {"cwd": "/wt/one", "root": "/src"}
    user, assistant = copy["messages"]
    assert user["info"]["id"] != "msg_a" and user["info"]["id"] < assistant["info"]["id"]
    assert assistant["info"]["parentID"] == user["info"]["id"]
    assert {m["info"]["sessionID"] for m in copy["messages"]} == {"ses_new"}
    parts = [p for m in copy["messages"] for p in m["parts"]]
    assert all(p["sessionID"] == "ses_new" and p["id"] not in ("prt_1", "prt_2") for p in parts)
    assert [p["messageID"] for p in parts] == [user["info"]["id"], assistant["info"]["id"]]
    assert [p["text"] for p in parts] == ["hi", "ack"]  # the transcript itself is kept


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'{"messages": []}'])
def test_a_broken_export_is_a_clear_error(raw):
    with pytest.raises(KugetsuError, match="not an opencode export"):
        relocated(raw, "ses_new", "/wt", None)


def test_export_directory():
    assert export_directory(json.dumps(EXPORT).encode()) == "/src/widgets"
    assert export_directory(b'{"info": {"directory": "relative"}}') is None and export_directory(b"x") is None
