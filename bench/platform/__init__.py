"""Pieces of ``make bench-platform`` (``bench/platform_bench.py``): the platform as real
processes, the bench photos, the API client, the open-loop load generator, the fault run."""
