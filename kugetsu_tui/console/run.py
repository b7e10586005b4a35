"""Opening the console: on a home, or on a throwaway demo home that is gone when it closes."""

from __future__ import annotations

import sys

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.console.app import KugetsuConsole


def has_terminal() -> bool:
    """Without a terminal on both ends Textual spins a core and writes escape codes into the redirection."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def run_console(home_override: str | None = None, demo: bool = False) -> int:
    if not has_terminal():
        raise KugetsuError(
            "the console needs a terminal on stdin and stdout; from a script or a pipe use the commands "
            "instead (kugetsu-tui ls, kugetsu-tui --help)"
        )
    if not demo:
        KugetsuConsole(Home.locate(home_override)).run()
        return 0
    from kugetsu_tui.demo.home import temporary_demo_home

    app: KugetsuConsole | None = None

    def hang_up() -> None:
        if app is not None:
            app.exit()

    with temporary_demo_home(on_hangup=hang_up) as home:
        app = KugetsuConsole(home)
        app.run()
    return 0
