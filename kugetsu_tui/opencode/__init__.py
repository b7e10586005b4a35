"""Everything that knows opencode: its default commands and the JSON events of `opencode run`."""
