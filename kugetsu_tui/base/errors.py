"""The errors the core raises, and the exit codes they map to (one enum for the core and the CLI)."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means; 2 is kugetsu's "retry later", which its queue relies on."""

    OK = 0
    ERROR = 1
    AT_CAPACITY = 2
    INTERRUPTED = 130


class KugetsuError(Exception):
    """A clear, one-line problem the user can act on (exit code 1)."""

    exit_code = ExitCode.ERROR


class AtCapacityError(KugetsuError):
    """A new dev session was refused because the cap is reached (exit code 2: retry later)."""

    exit_code = ExitCode.AT_CAPACITY
