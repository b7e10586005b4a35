"""The scriptable CLI's entry point: `kugetsu-tui COMMAND …`, or the console when no command is given.

Each command group adds its own subcommands (sessions, work, queue, permissions: one module each), and
each command imports what it needs only when it runs. Every failure is one line on stderr with an exit
code (base/errors.py ExitCode: 0 ok, 1 error, 2 at capacity, kugetsu's "retry later"); the console,
and Textual with it, is imported only when it is opened.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import NoReturn

from kugetsu_tui.base.errors import ExitCode, KugetsuError
from kugetsu_tui.base.text import printable
from kugetsu_tui.cli import permissions, queue, review, sessions, work


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, but 2 means 'at capacity' here: bad usage is 1."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.ERROR, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kugetsu-tui",
        description="Operator console and CLI for kugetsu agent sessions. With no command, opens the console.",
        epilog="exit codes: 0 ok, 1 error, 2 at capacity (retry later)",
    )
    parser.add_argument("--home", help="kugetsu home (default: $KUGETSU_HOME or ~/.kugetsu)")
    parser.add_argument(
        "--demo", action="store_true", help="open the console on a temporary demo home with a simulated agent"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for group in (sessions, work, queue, permissions, review):
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # A name that is not UTF-8 is printed escaped where we know it is one; anywhere else it must not
    # turn a finished command into a traceback.
    if isinstance(sys.stdout, io.TextIOWrapper):  # not when a caller replaced it (a StringIO)
        sys.stdout.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        from kugetsu_tui.base.home import Home

        if args.demo and (args.command is not None or args.home is not None):
            raise KugetsuError("--demo opens the console on a throwaway home: it takes neither a command nor --home")
        if args.home == "":
            raise KugetsuError("--home is empty: give the path of a kugetsu home (or leave --home out)")
        if args.command is None:
            return _open_console(args)
        home = Home.locate(args.home)
        problem = home.path_problem()
        if problem:
            raise KugetsuError(problem)
        return int(args.run(home, args))
    except KugetsuError as exc:
        print(f"kugetsu-tui: {printable(exc)}", file=sys.stderr)  # one line, control characters escaped
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`ls | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"kugetsu-tui: {exc.strerror or exc}{where}", file=sys.stderr)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        print("kugetsu-tui: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _open_console(args: argparse.Namespace) -> int:
    from kugetsu_tui.console.run import run_console

    return run_console(home_override=args.home, demo=args.demo)
