"""Reading logs: :func:`read_logs` is the one gateway every command uses.

Names are imported lazily, so that importing a light submodule (``parallel``,
``progress``) from the CLI does not import polars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genailog.ingest.policy import InvalidPolicy
    from genailog.ingest.reader import Logs, read_logs
    from genailog.ingest.report import ReadReport

__all__ = ["InvalidPolicy", "Logs", "ReadReport", "read_logs"]

_HOMES = {"InvalidPolicy": "policy", "Logs": "reader", "read_logs": "reader",
          "ReadReport": "report"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"genailog.ingest.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'genailog.ingest' has no attribute {name!r}")
