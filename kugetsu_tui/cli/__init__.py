"""The scriptable CLI: one module per command group."""
