"""Regenerate the README's screenshots from the real console on a demo home.

    .venv/bin/python screenshots/generate.py

Each SVG is the app as a user sees it after the keys listed beside it, in a 120x32 terminal. Each shot
runs on its own demo home made where `kugetsu-tui --demo` makes it (`/tmp/kugetsu-demo-…/home`), so the
title shows the path the live demo shows.
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
    ("capacity.svg", ("C",)),
]


def demo_root() -> Path:
    """A home where the live demo puts its own (demo/home.py, temporary_demo_home)."""
    return Path(tempfile.mkdtemp(prefix="kugetsu-demo-")) / "home"


async def shoot(home_root: Path, name: str, keys: tuple[str, ...]) -> None:
    app = KugetsuConsole(create_demo_home(home_root))
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
    for name, keys in SHOTS:
        root = demo_root()
        try:
            await shoot(root, name, keys)
        finally:
            shutil.rmtree(root.parent, ignore_errors=True)
        print(f"wrote {OUT / name}")
    root = demo_root()
    try:
        await at_capacity(root)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    print(f"wrote {OUT / 'at-capacity.svg'}")


if __name__ == "__main__":
    asyncio.run(main())
