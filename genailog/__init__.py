"""genailog: offline analysis of generative-AI application logs.

The public API is the functions below; each returns a result object whose ``to_dict()``
is exactly what the CLI prints with ``--format json``. Imports are lazy so that the CLI
starts fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "read_logs": "genailog.ingest",
    "validate": "genailog.api",
    "summarize": "genailog.api",
    "diff_prompts": "genailog.api",
    "detect_drift": "genailog.api",
    "analyze_retrieval": "genailog.api",
    "inspect_logs": "genailog.ingest.inspect",
    "export_dataset": "genailog.api",
    "redact_logs": "genailog.dataset.export",
    "convert": "genailog.dataset.convert",
    "generate_sample": "genailog.sample",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'genailog' has no attribute {name!r}")
