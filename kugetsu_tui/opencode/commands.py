"""The opencode CLI commands kugetsu-tui runs by default, as argv templates.

config.toml's `[agent]` table may replace any of them; values fill whole arguments (no shell).
"""

from __future__ import annotations

DEFAULT_TEMPLATES: dict[str, list[str]] = {
    # "--" before the message: a message starting with "-" is not an option.
    # --title is ignored with --fork (opencode names forks itself); the issue ref is kept in our file.
    "start": [
        "opencode",
        "run",
        "--session",
        "{base_session_id}",
        "--fork",
        "--title",
        "{issue_ref}",
        "--format",
        "json",
        "--",
        "{message}",
    ],
    "continue": ["opencode", "run", "--session", "{session_id}", "--format", "json", "--", "{message}"],
    "export": ["opencode", "export", "{session_id}"],
    "delete": ["opencode", "session", "delete", "{session_id}"],
    "import": ["opencode", "import", "{export_file}"],
}

INSTALL_HINT = "npm install -g opencode-ai"
