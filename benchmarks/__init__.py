"""Speed and scale benchmarks for kugetsu-tui: `python -m benchmarks` (not part of the test suite)."""
