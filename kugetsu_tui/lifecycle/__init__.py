"""The only writers of sessions: start and continue, destroy and restore, prune, the agent's supervisor."""
