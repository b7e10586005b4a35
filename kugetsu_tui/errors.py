"""The errors the core raises; each carries the CLI exit code it maps to."""


class KugetsuError(Exception):
    """A clear, one-line problem the user can act on (exit code 1)."""

    exit_code = 1


class AtCapacityError(KugetsuError):
    """A new dev session was refused because the cap is reached (exit code 2: retry later)."""

    exit_code = 2
