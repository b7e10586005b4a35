"""Git worktrees for dev sessions: one worktree and branch per issue, so parallel agents never share a checkout."""
