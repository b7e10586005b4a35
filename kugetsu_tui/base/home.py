"""Where kugetsu keeps its files, and the modes of what we create there.

The layout is kugetsu's own (`sessions/`, `index.json`, legacy `config`) plus ours
(`config.toml`, `archive/`, `logs/`), so both tools can share one home.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

DIR_MODE = 0o700
FILE_MODE = 0o600


class Home(NamedTuple):
    root: Path

    @classmethod
    def locate(cls, override: str | os.PathLike[str] | None = None) -> Home:
        """`--home` wins, then `KUGETSU_HOME`, then `~/.kugetsu`."""
        if override:
            return cls(Path(override).expanduser().absolute())
        env = os.environ.get("KUGETSU_HOME")
        if env:
            return cls(Path(env).expanduser().absolute())
        return cls(Path.home() / ".kugetsu")

    def path_problem(self) -> str | None:
        """What is wrong with the home's paths for a command, or None. A missing home is fine (created when
        written); a file where the home or its sessions directory should be would read as no sessions."""
        for path, what in ((self.root, "the kugetsu home"), (self.sessions_dir, "the sessions directory")):
            if os.path.lexists(path) and not os.path.isdir(path):
                return f"{what} {path} is not a directory: move that file away, or give another --home"
        return None

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    @property
    def config_toml(self) -> Path:
        return self.root / "config.toml"

    @property
    def legacy_config(self) -> Path:
        return self.root / "config"

    @property
    def queue_items_dir(self) -> Path:
        """kugetsu's queue: one JSON file per item (kugetsu #140/#147)."""
        return self.root / "queue" / "items"

    @property
    def journal_dir(self) -> Path:
        """Intent records of the destroys, restores and starts in progress (lifecycle/journal.py)."""
        return self.root / "journal"

    @property
    def parked_dir(self) -> Path:
        """Parked dev sessions' files (lifecycle/park.py): out of `sessions/`, so no count sees them."""
        return self.root / "parked"

    @property
    def lock_path(self) -> Path:
        return self.sessions_dir / ".lock"

    def session_path(self, name: str) -> Path:
        return self.sessions_dir / f"{name}.json"

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def ensure(self, *dirs: Path) -> None:
        """Create the given directories (default: all of ours) with mode 0700 if missing."""
        for directory in dirs or (self.root, self.sessions_dir, self.archive_dir, self.logs_dir):
            if not directory.is_dir():
                directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
