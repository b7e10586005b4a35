"""opencode specifics: how its sessions, ids and events work, kept apart from the core."""
