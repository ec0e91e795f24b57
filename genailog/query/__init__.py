"""The expression grammar of ``--where`` and every gate, and the shared record filters.

Below analysis and dataset (both filter records), above pricing and ingest; evaluated
only as an allow-listed tree (docs/expressions.md), never as SQL.
"""
