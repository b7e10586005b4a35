"""`[queue] drain` in config.toml: whether an open console drains the queue."""

from __future__ import annotations

import pytest

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.opencode.settings import load_agent_config
from kugetsu_tui.queue.settings import console_drains


def test_the_console_drains_by_default(home):
    assert console_drains(home) is True


def test_drain_false_turns_it_off_and_keeps_the_agent_settings_valid(home):
    home.config_toml.write_text(home.config_toml.read_text() + "\n[queue]\ndrain = false\n")
    assert console_drains(home) is False
    assert load_agent_config(home).template("start")  # [agent] is read as before


@pytest.mark.parametrize(
    "table, message",
    [
        ('[queue]\ndrain = "yes"\n', "drain must be true or false"),
        ("[queue]\ndrian = true\n", "unknown key 'drian'"),
        ("queue = 1\n", "must be a table"),
    ],
)
def test_a_wrong_queue_setting_is_a_clear_error(home, table, message):
    home.config_toml.write_text(table)
    with pytest.raises(KugetsuError, match=message):
        console_drains(home)
