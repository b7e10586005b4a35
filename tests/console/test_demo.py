"""`kugetsu-tui --demo`: a complete home with a live simulated agent, gone after the console exits."""

from __future__ import annotations

import json
from pathlib import Path

from kugetsu_tui.base.home import Home
from kugetsu_tui.base.process import is_alive
from kugetsu_tui.console import run as console_run
from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.sessions.overview import overview


def test_demo_home_has_every_state_and_is_removed_with_its_agents_on_exit(monkeypatch) -> None:
    seen: dict = {}

    def fake_run(self: KugetsuConsole) -> None:
        snapshot = overview(self.home)
        seen["root"] = self.home.root
        seen["states"] = {v.session.name: v.shown_state for v in snapshot.sessions}
        seen["kinds"] = sorted(v.session.kind for v in snapshot.sessions)
        seen["live"] = [(v.session.pid, v.session.data.get("pid_started")) for v in snapshot.sessions if v.alive]
        seen["active"], seen["limit"] = snapshot.active, snapshot.limit.value

    monkeypatch.setattr(KugetsuConsole, "run", fake_run)
    monkeypatch.setattr(console_run, "has_terminal", lambda: True)  # pytest captures stdout
    monkeypatch.setenv("MAX_CONCURRENT_AGENTS", "1")  # the demo shows its own limit, not the user's
    assert console_run.run_console(demo=True) == 0

    assert seen["kinds"] == ["base", "dev", "dev", "dev", "dev", "pm"]
    assert set(seen["states"].values()) == {"idle", "running", "failed", "corrupt"}
    assert seen["active"] == 4 and seen["limit"] == 5  # one free slot to try start, then the cap
    assert len(seen["live"]) == 1
    assert not Path(seen["root"]).exists()
    pid, started = seen["live"][0]
    assert not is_alive(pid, started)


def test_demo_agent_templates_round_trip_a_session(tmp_path: Path) -> None:
    from kugetsu_tui.demo.home import create_demo_home
    from kugetsu_tui.lifecycle.archive import destroy_session, restore_session
    from kugetsu_tui.lifecycle.start import start_session

    home: Home = create_demo_home(tmp_path / "home", live_agent=False)
    launched = start_session(home, "acme/widgets#77", "try it")
    assert launched.opencode_session_id
    destroyed = destroy_session(home, "acme/widgets#77")
    exported = json.loads((destroyed.entry.path / "export.json").read_text())
    assert exported["info"]["id"] == launched.opencode_session_id
    restored = restore_session(home, "acme/widgets#77")
    assert restored.opencode_session_id == launched.opencode_session_id
