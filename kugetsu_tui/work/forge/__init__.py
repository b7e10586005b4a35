"""Forge (GitHub, Gitea, Forgejo) REST API: the state of a session's pull request or issue."""

from kugetsu_tui.work.forge.client import ForgeClient, Reply
from kugetsu_tui.work.forge.settings import ForgeSettings, HostSettings, parse_forge_settings
from kugetsu_tui.work.forge.status import ForgeAnswer, forge_work

__all__ = ["ForgeAnswer", "ForgeClient", "ForgeSettings", "HostSettings", "Reply", "forge_work", "parse_forge_settings"]
