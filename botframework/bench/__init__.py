"""Benchmark code behind ``botframework bench`` and the scripts in benchmarks/."""
