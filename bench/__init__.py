"""Benchmarks (`make bench`, `make bench-pages`): scripts run as files, sharing `bench.bench_world`."""
