"""The queue at capacity, in kugetsu's own format: work waits for a slot instead of being lost.

items: the file format; manage: add, remove, move to front; claims: claiming, settling and taking
back an item under the sessions lock; drain: starting pending items while slots are free; follow:
draining whenever a slot frees; settings: `[queue]` in config.toml. The CLI is cli/queue.py.
"""
