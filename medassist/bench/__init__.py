"""Benchmarks that print numbers (speed targets live here, not in timed unit tests)."""
