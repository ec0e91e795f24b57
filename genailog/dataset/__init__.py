"""Datasets from logs: export (filter, dedup, sample, split, write) and redaction."""
