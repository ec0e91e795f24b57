"""Reading logs: :func:`read_logs` is the one gateway every command uses."""

from genailog.ingest.policy import InvalidPolicy
from genailog.ingest.reader import Logs, read_logs
from genailog.ingest.report import ReadReport

__all__ = ["InvalidPolicy", "Logs", "ReadReport", "read_logs"]
