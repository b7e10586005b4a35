"""The demo home and its simulated opencode."""
