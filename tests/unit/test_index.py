"""kugetsu's index.json: entries per kind, unknown keys kept, a broken index set aside."""

from __future__ import annotations

import json
import stat

import pytest

from kugetsu_tui.base.home import Home
from kugetsu_tui.sessions import index
from kugetsu_tui.sessions.files import read_session
from tests.helpers import read_index, write_session


@pytest.fixture
def bare(tmp_path) -> Home:
    home = Home(tmp_path / "home")
    home.ensure(home.root, home.sessions_dir)
    return home


def _dev(home, number, **fields):
    name = f"github.com-shoko-kugetsu-{number}"
    return read_session(
        write_session(
            home,
            name,
            {
                "type": "forked",
                "issue_ref": f"github.com/shoko/kugetsu#{number}",
                "opencode_session_id": f"ses_{number}",
                "state": "idle",
                **fields,
            },
        )
    )


def test_a_missing_index_reads_as_kugetsus_empty_shape_and_is_not_created(bare):
    assert index.read_index(bare) == {"base": None, "pm_agent": None, "issues": {}}
    assert not bare.index_path.exists()


def test_add_entry_records_each_kind_the_way_kugetsu_does(bare):
    index.add_entry(bare, _dev(bare, 14))
    index.add_entry(bare, read_session(write_session(bare, "base", {"type": "base", "opencode_session_id": "ses_b"})))
    index.add_entry(
        bare, read_session(write_session(bare, "pm-agent", {"type": "pm_agent", "opencode_session_id": "ses_p"}))
    )
    assert read_index(bare) == {
        "base": "ses_b",
        "pm_agent": "ses_p",
        "issues": {"github.com/shoko/kugetsu#14": "github.com-shoko-kugetsu-14.json"},
    }
    assert stat.S_IMODE(bare.index_path.stat().st_mode) == 0o600


def test_add_entry_keeps_unknown_keys_and_other_entries(bare):
    issues = {"github.com/shoko/kugetsu#1": "github.com-shoko-kugetsu-1.json"}
    bare.index_path.write_text(json.dumps({"base": "ses_b", "pm_agent": None, "version": 2, "issues": issues}))
    index.add_entry(bare, _dev(bare, 49))
    data = read_index(bare)
    assert data["version"] == 2 and data["base"] == "ses_b"
    assert data["issues"] == {
        "github.com/shoko/kugetsu#1": "github.com-shoko-kugetsu-1.json",
        "github.com/shoko/kugetsu#49": "github.com-shoko-kugetsu-49.json",
    }


def test_a_dev_session_without_an_issue_ref_adds_nothing(bare):
    session = read_session(write_session(bare, "weird", {"type": "forked"}))
    index.add_entry(bare, session)
    assert not bare.index_path.exists()


def test_remove_entry_drops_every_ref_pointing_at_the_file_and_nothing_else(bare):
    bare.index_path.write_text(
        json.dumps(
            {
                "base": "ses_b",
                "pm_agent": "ses_p",
                "extra": [1],
                "issues": {
                    "github.com/shoko/kugetsu#49": "github.com-shoko-kugetsu-49.json",
                    "shoko/kugetsu#49": "github.com-shoko-kugetsu-49.json",
                    "github.com/shoko/kugetsu#50": "github.com-shoko-kugetsu-50.json",
                },
            }
        )
    )
    index.remove_entry(bare, _dev(bare, 49))
    assert read_index(bare) == {
        "base": "ses_b",
        "pm_agent": "ses_p",
        "extra": [1],
        "issues": {"github.com/shoko/kugetsu#50": "github.com-shoko-kugetsu-50.json"},
    }


def test_remove_entry_of_base_and_pm_clears_their_ids(bare):
    bare.index_path.write_text(json.dumps({"base": "ses_b", "pm_agent": "ses_p", "issues": {}}))
    index.remove_entry(bare, read_session(write_session(bare, "base", {"type": "base"})))
    assert read_index(bare)["base"] is None and read_index(bare)["pm_agent"] == "ses_p"
    index.remove_entry(bare, read_session(write_session(bare, "pm-agent", {"type": "pm_agent"})))
    assert read_index(bare)["pm_agent"] is None


def test_remove_entry_never_creates_an_index_and_does_not_rewrite_when_unchanged(bare):
    index.remove_entry(bare, _dev(bare, 3))
    assert not bare.index_path.exists()
    bare.index_path.write_text('{"base":null,"pm_agent":null,"issues":{}}')
    index.remove_entry(bare, _dev(bare, 3))
    assert bare.index_path.read_text() == '{"base":null,"pm_agent":null,"issues":{}}'


@pytest.mark.parametrize("content", [b"{not json", b"", b"\xff\xfe\x00", b'{"issues": '])
def test_a_broken_index_is_set_aside_byte_for_byte_and_rebuilt(bare, content):
    bare.index_path.write_bytes(content)
    index.add_entry(bare, _dev(bare, 7))
    aside = list(bare.root.glob("index.json.broken-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert read_index(bare)["issues"] == {"github.com/shoko/kugetsu#7": "github.com-shoko-kugetsu-7.json"}


def test_an_index_with_issues_of_the_wrong_type_reads_as_empty_issues(bare):
    bare.index_path.write_text('{"base": "ses_b", "issues": ["x"]}')
    data = index.read_index(bare)
    assert data["issues"] == {} and data["base"] == "ses_b" and data["pm_agent"] is None


def test_an_index_that_is_json_but_not_an_object_is_set_aside_too(bare):
    bare.index_path.write_text('["github.com/shoko/kugetsu#1"]')
    index.add_entry(bare, _dev(bare, 7))
    kept = [p.read_text() for p in bare.root.glob("index.json*") if p.name != "index.json"]
    assert kept == ['["github.com/shoko/kugetsu#1"]']
