"""Benchmarks that make their own load on loopback and check their own counts.

`python -m bench` (or `make bench`) runs vote ingest and fan-out against the
real app served by hypercorn in a separate process, with fake remote servers
in processes of their own, and prints the figures against the targets.
"""
