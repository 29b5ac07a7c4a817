"""Benchmarks and load tests (run as modules from the repository root: python3 -m bench.NAME)."""
