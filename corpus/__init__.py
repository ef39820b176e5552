"""Synthetic labelled seasons written as real media files (training, validation, tests, benchmarks)."""
