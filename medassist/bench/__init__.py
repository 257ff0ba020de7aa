"""Benchmarks that print numbers (``medassist bench``).

Each area contributes a ``bench_<area>() -> dict`` function; this package adds the whole-app
measurements (cold start, first prediction, GUI responsiveness) and writes docs/benchmarks.md.
"""
