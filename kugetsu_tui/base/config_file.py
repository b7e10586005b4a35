"""config.toml, read once as a dict: a broken file is one clear line naming the file and the line."""

from __future__ import annotations

import tomllib
from typing import Any

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home


def load_toml(home: Home) -> dict[str, Any]:
    """config.toml as a dict ({} when absent); a broken file is a clear error naming file and line."""
    path = home.config_toml
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise KugetsuError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise KugetsuError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise KugetsuError(f"{path} is not valid TOML: {exc}") from None
    except ValueError:  # tomllib converts integers itself: more digits than Python's int-string limit
        raise KugetsuError(f"{path} holds a number too long to read (over 4300 digits)") from None
