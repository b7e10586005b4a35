"""One cap across machines: the optional PostgreSQL ledger of every host's slots (`[cluster]` in config.toml)."""
