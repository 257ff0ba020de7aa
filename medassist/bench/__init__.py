"""Benchmarks that print numbers (``python -m medassist.bench.<area>``); speed targets live here, not in tests."""
