"""The kernel every layer stands on: the home, errors, atomic writes, the lock, refs, text, processes, git."""
