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
from typing import Any, NoReturn

from kugetsu_tui.base.errors import ExitCode, KugetsuError
from kugetsu_tui.base.text import printable
from kugetsu_tui.cli import capacity, cluster, permissions, queue, review, sessions, work

PROGRAM = "kugetsu-tui"
HOME_ENV = "KUGETSU_HOME"
#: What a home that does not exist gets. Exit 1, not 0: a wrong --home or KUGETSU_HOME is a mistake to
#: report, not an empty home ("active 0/3" would read as all well). A read never creates the home.
MISSING_HOME_HELP = (
    "A home that does not exist is one line on stderr and exit 1 for every command but `limit N` (which "
    "creates it for config.toml), and nothing is created; `ls --json` and `queue ls --json` still print "
    "their empty listing on stdout, so that what reads them can parse it."
)


class _Version(argparse.Action):
    """`--version`: the installed package's version, looked up only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version(PROGRAM)
        except PackageNotFoundError:
            found = "(version unknown: the package is not installed)"
        print(f"{PROGRAM} {found}")  # on stdout, where a script reads it (argparse's own goes to stderr)
        parser.exit(ExitCode.OK)


def _add_global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """The options every command takes, before or after its name: `--home X ls` is `ls --home X`.

    After a command they default to SUPPRESS, so a command only sets what was typed after it and
    leaves the top level's value alone otherwise. If both are given, the one after the command wins
    (it is parsed last, as the last of a repeated option always wins in argparse). A command option
    of the same name would make argparse raise "conflicting option string" when the parser is built:
    the tests build it, so such a clash cannot ship.
    """
    default: dict[str, Any] = {} if top_level else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument("--home", metavar="PATH", help=f"kugetsu home (default: ${HOME_ENV} or ~/.kugetsu)", **default)
    group.add_argument(
        "--demo",
        action="store_true",
        help="open the console on a temporary demo home with a simulated agent",
        **default,
    )
    group.add_argument("--version", action=_Version, help=f"print '{PROGRAM} VERSION' and exit")


def _sentence(text: str | None) -> str | None:
    """A command's one-line help as its --help description: capitalised, with a full stop."""
    if not text:
        return None
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", ")", "!", "?")) else f"{text}."


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]  # argparse's own subparsers action
    """Every subcommand (and sub-subcommand) gets the global options, and its help as its description
    unless it gives a better one: `kugetsu-tui ls --help` says what `ls` is for."""

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("description", _sentence(kwargs.get("help")))
        parser = super().add_parser(name, **kwargs)
        _add_global_options(parser, top_level=False)
        parser.set_defaults(command_parser=parser)  # the innermost command's wins: it is parsed last
        return parser


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, but 2 means 'at capacity' here: bad usage is 1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.ERROR, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROGRAM,
        description="Operator console and CLI for kugetsu agent sessions. With no command, opens the console.",
        epilog=f"exit codes: 0 ok, 1 error, 2 at capacity (retry later). {MISSING_HOME_HELP}",
    )
    _add_global_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for group in (sessions, work, queue, capacity, permissions, review, cluster):
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # A name that is not UTF-8 is printed escaped where we know it is one; anywhere else it must not
    # turn a finished command into a traceback.
    if isinstance(sys.stdout, io.TextIOWrapper):  # not when a caller replaced it (a StringIO)
        sys.stdout.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser, whose --help lists the options it takes
        getattr(args, "command_parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
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
        if not os.path.lexists(home.root) and not getattr(args, "creates_home", _never)(args):
            if getattr(args, "json", False) and getattr(args, "lists", False):
                args.run(home, args)  # its empty listing (a pure read: nothing is created), for a parser
            raise KugetsuError(_missing_home(home.root, args))
        code = int(args.run(home, args))
        _keep_cluster_fresh(home)
        return code
    except KugetsuError as exc:
        print(f"{PROGRAM}: {printable(exc)}", file=sys.stderr)  # one line, control characters escaped
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`ls | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{PROGRAM}: {exc.strerror or exc}{where}", file=sys.stderr)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _keep_cluster_fresh(home: Any) -> None:
    """Every command keeps this host's cluster leases fresh ([cluster] dsn set; at most every quarter lease).
    Without a [cluster] table (parsed already, and cached) nothing more is imported: CLI start-up time."""
    from kugetsu_tui.base.config_file import load_toml

    try:
        if "cluster" not in load_toml(home):
            return
    except KugetsuError:
        return
    from kugetsu_tui.cluster.liveness import keep_fresh

    keep_fresh(home)


def _never(args: argparse.Namespace) -> bool:
    return False


def _missing_home(root: os.PathLike[str], args: argparse.Namespace) -> str:
    """The one line for a home that is not there: which path, where it came from, how to name another."""
    source = "given by --home" if args.home else f"from ${HOME_ENV}" if os.environ.get(HOME_ENV) else "the default"
    return (
        f"the kugetsu home {os.fspath(root)} ({source}) does not exist: point at yours with --home PATH "
        f"or {HOME_ENV}=PATH (`kugetsu init` creates one)"
    )


def _open_console(args: argparse.Namespace) -> int:
    from kugetsu_tui.console.run import run_console

    return run_console(home_override=args.home, demo=args.demo)
