"""Benchmarks: the synthetic evaluation set, the demo sample and ``make bench-clean``."""
