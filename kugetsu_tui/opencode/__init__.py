"""Everything that knows opencode: its commands and [agent] settings, the steps and the JSON events of
`opencode run`, the fork into a worktree, where a session runs, its activity, and the server client."""
