"""Benchmarks of the service directory: `python -m bench.directory`."""
