"""Is a session's work finished? Read-only answers from local git and the forge."""
