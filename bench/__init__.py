"""Benchmarks of OneCity's hot paths against real servers; see ``bench/README.md``."""
