"""Benchmarks that print JSON (`python -m bench.<name> --json`); results are recorded in docs/benchmarks.md."""
