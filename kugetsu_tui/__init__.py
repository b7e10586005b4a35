"""kugetsu-tui: an operator console and CLI over kugetsu's session files.

Kept import-free so the CLI and the agent supervisor start fast.
"""

__version__ = "0.1.0"
