"""Benchmarks: one module per job, run as ``python -m bench.NAME``, one JSON line per comparison."""
