"""The genailog exception hierarchy and the process exit codes.

Every error a user can cause is a subclass of :class:`GenailogError` and carries the exit
code the CLI maps it to. Nothing else lives here: rendering happens in ``cli/app.py``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes, shared by every command."""

    OK = 0
    #: The check failed: invalid records (validate), a gate tripped (summarize),
    #: a regression (diff-prompts), a drifted window (drift).
    FAILED = 1
    #: Bad options or arguments: unknown field, bad expression, missing version.
    USAGE = 2
    #: Input could not be read: missing file, unknown format, undecodable data,
    #: or an invalid record under ``--on-invalid fail``.
    INPUT = 3
    #: An output could not be written (exists without --overwrite, permission denied).
    OUTPUT = 4
    #: A bug in genailog. Please report it with ``--debug`` output.
    INTERNAL = 70


class GenailogError(Exception):
    """Base class of every error a user can cause."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(GenailogError):
    """An option or argument is wrong."""

    exit_code = ExitCode.USAGE


class ExpressionError(UsageError):
    """A SQL predicate or gate expression could not be parsed or names an unknown column."""


class NothingToJudge(GenailogError):
    """A check was asked for, but the input holds no record it could judge (an empty
    artifact, or filters that keep nothing): a check never passes on nothing."""

    exit_code = ExitCode.FAILED


class InputError(GenailogError):
    """Input could not be found or read."""

    exit_code = ExitCode.INPUT


class UnknownFormatError(InputError):
    """A file's content matches none of the log formats genailog knows."""


class InvalidRecordError(InputError):
    """A record is malformed or violates the schema, and the policy is to fail."""

    def __init__(self, file: str, line: int, message: str, *, hint: str | None = None) -> None:
        self.file = file
        self.line = line
        self.detail = message
        fix = hint or (
            "fix the record, or pass --on-invalid skip (or quarantine=PATH) to set it aside"
        )
        super().__init__(f"{file}:{line}: {message}; {fix}")


class OutputError(GenailogError):
    """An output could not be written."""

    exit_code = ExitCode.OUTPUT
