"""Regenerate the README's screenshots from the real console on a demo home.

    .venv/bin/python screenshots/generate.py

Each SVG is the app as a user sees it after the keys listed beside it, in a 120x32 terminal.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from kugetsu_tui.console.app import KugetsuConsole
from kugetsu_tui.demo.home import create_demo_home, stop_all_agents
from kugetsu_tui.sessions.limit import save_limit

OUT = Path(__file__).resolve().parent
SIZE = (120, 32)
SHOTS = [
    ("overview.svg", ()),
    ("start-dialog.svg", ("s", *"acme/widgets#21", "tab", *"Add retries to the uploader")),
    ("destroy-confirmation.svg", ("down", "down", "d")),
    ("details.svg", ("down", "down", "down", "enter")),
    ("preview.svg", ("down", "down", "down", "p")),
    ("clean-up.svg", ("D",)),
    ("help.svg", ("question_mark",)),
]


async def shoot(home_root: Path, name: str, keys: tuple[str, ...]) -> None:
    app = KugetsuConsole(create_demo_home(home_root))
    app.sub_title = "~/.kugetsu (demo)"
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            while len(app.model.views) < 6:
                await pilot.pause(0.05)
            await pilot.pause(1.2)  # one process sample, so CPU and memory show
            await pilot.press(*keys)
            await pilot.pause(2.5)  # D checks the work first
            app.save_screenshot(filename=name, path=str(OUT))
    finally:
        stop_all_agents(app.home)


async def at_capacity(home_root: Path) -> None:
    """Every slot taken: start is dimmed and pressing s shows the core's refusal."""
    home = create_demo_home(home_root)
    save_limit(home, 4)
    app = KugetsuConsole(home)
    app.sub_title = "~/.kugetsu (demo)"
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            while len(app.model.views) < 6:
                await pilot.pause(0.05)
            await pilot.pause(1.2)
            await pilot.press("s")
            await pilot.pause(0.6)
            app.save_screenshot(filename="at-capacity.svg", path=str(OUT))
    finally:
        stop_all_agents(app.home)


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="kugetsu-shots-"))
    try:
        for index, (name, keys) in enumerate(SHOTS):
            await shoot(work / f"home{index}", name, keys)
            print(f"wrote {OUT / name}")
        await at_capacity(work / "capacity")
        print(f"wrote {OUT / 'at-capacity.svg'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
