"""genailog.log: write canonical genailog records from a running application.

One line of setup::

    import openai, genailog.log
    client = genailog.log.instrument(openai.OpenAI(), "logs/calls.jsonl", app="helpdesk")

Every call of ``client`` then leaves one canonical record (docs/logging.md), written by a
background thread. Also here: a ``logging`` handler for hand-written records, prompt
versioning and context blocks, keyed head sampling, write-time redaction and
chain-of-thought masking.

Imports only the standard library and msgspec: no polars, numpy or provider SDK.
"""

from __future__ import annotations

import os
from typing import Any

from genailog.log.context import context, current_fields, prompt, template_version
from genailog.log.handler import LogHandler, RecordFormatter, normalize
from genailog.log.logger import Logger
from genailog.log.sampling import Sampler
from genailog.log.writer import Writer, WriterStats

__all__ = ["LogHandler", "Logger", "RecordFormatter", "Sampler", "Writer", "WriterStats",
           "context", "current_fields", "instrument", "normalize", "prompt",
           "template_version"]


def instrument(client: Any, target: str | os.PathLike[str] | Logger, **options: Any) -> Any:
    """Log every call of an ``openai`` or ``anthropic`` client (sync or async) to
    ``target`` (a path, or a :class:`Logger` shared by several clients) and return the
    client. ``options`` are :class:`Logger`'s (sampling, masking, redaction, writer)."""
    from genailog.log.clients import instrument as wrap

    logger = target if isinstance(target, Logger) else Logger(target, **options)
    return wrap(client, logger)
