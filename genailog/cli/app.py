"""The ``genailog`` Typer application and the one place errors become exit codes.

Command modules import polars and friends inside their functions, so ``genailog --help``
starts fast; :func:`main` registers only the command it is asked for (the other modules
are not even imported), and ``app``, with every command, is built on first use.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from genailog import __version__
from genailog.cli import coerce
from genailog.errors import ExitCode, GenailogError

if TYPE_CHECKING:
    app: typer.Typer

#: --debug, and whether the command may read large files on every core (set by main).
_state = {"debug": False, "workers": False}


def _flags_show_no_value() -> None:
    """Help lists an on/off flag as a flag: Typer 0.29 prints ``--redact <bool>``, which
    invites a value the flag does not take."""
    from typer.core import TyperOption

    original = TyperOption.display_type_rich

    def display(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else original(self, ctx)

    TyperOption.display_type_rich = display  # type: ignore[method-assign]


_flags_show_no_value()
coerce.install()  # options converted without importing pydantic (genailog.cli.coerce)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F, reads_logs: bool = False) -> F:
    """Turn library errors into one line on stderr and the documented exit code
    (``reads_logs``: the command is one of :data:`READS_LOGS`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from genailog.cli import render
        from genailog.cli.render import ReadProgress, esc, stderr_is_terminal
        from genailog.config import read_once
        from genailog.ingest import progress
        from genailog.outputs import StdoutError

        if _state["workers"]:  # the CLI's own run, not a test's runner
            from genailog.ingest import parallel

            parallel.enable()
            _end_start_up(reads_logs)
        bar = ReadProgress() if stderr_is_terminal() else None
        progress.set_hook(bar)
        progress.set_notice_hook(
            lambda text: render.stderr.print(f"[dim]note:[/] {esc(text)}"))
        try:
            with read_once():  # the settings file parsed once per command, not per option
                return func(*args, **kwargs)
        except GenailogError as exc:
            if _state["debug"]:
                raise
            render.stderr.print(f"[bold red]error:[/] {esc(exc)}")
            if isinstance(exc, StdoutError):  # disk full on stdout: exit 4, said once
                _discard_stdout()
            raise typer.Exit(int(exc.exit_code)) from None
        except BrokenPipeError:
            # The reader went away (`| head`): not an error; keep Python from complaining
            # again when it flushes stdout at exit.
            _discard_stdout()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            render.stderr.print("[red]interrupted[/]")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if _state["debug"]:
                raise
            render.stderr.print(
                f"[bold red]internal error:[/] {esc(type(exc).__name__)}: {esc(exc)}\n"
                "This is a bug in genailog; rerun with --debug and report the traceback."
            )
            raise typer.Exit(int(ExitCode.INTERNAL)) from None
        finally:
            progress.set_hook(None)
            progress.set_notice_hook(None)
            if bar is not None:
                bar.stop()

    return wrapper  # type: ignore[return-value]


def _end_start_up(reads_logs: bool) -> None:
    """Turn the garbage collector back on (:func:`main` turns it off): start-up allocates
    some 300k objects that live as long as the process, and collecting them as they come
    cost 15-23 ms of a 1M-record Parquet summary (88 collections, all during imports). A
    command that reads logs imports polars first, the bulk of those imports; everything
    imported until here is then frozen, so later collections, the interpreter's at exit
    included, do not walk it again (that is most of the gain: about 40 ms per run)."""
    import gc

    if reads_logs:
        import polars  # noqa: F401  (every such command imports it)
    gc.freeze()
    gc.enable()


def _discard_stdout() -> None:
    """Point stdout at the null device, so the flush at exit cannot fail a second time."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests capture stdout)
        pass


def _version(value: bool) -> None:
    if value:
        typer.echo(f"genailog {__version__}")
        raise typer.Exit()


def main_callback(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Exit codes: 0 ok, 1 check failed, 2 usage error, 3 unreadable or invalid input,
    4 output not written, 70 internal error."""
    _state["debug"] = debug


# (command name, module under genailog.cli, function name)
COMMANDS: list[tuple[str, str, str]] = [
    ("validate", "validate", "validate_command"),
    ("inspect", "inspect", "inspect_command"),
    ("summarize", "summarize", "summarize_command"),
    ("diff-prompts", "diff_prompts", "diff_prompts_command"),
    ("drift", "drift", "drift_command"),
    ("export-dataset", "export", "export_command"),
    ("redact", "export", "redact_command"),
    ("convert", "convert", "convert_command"),
    ("sample", "sample", "sample_command"),
    ("report", "report", "report_command"),
    ("traces", "traces", "traces_command"),
    ("retrieval", "retrieval", "retrieval_command"),
    ("config", "config", "config_command"),
    ("merge", "merge", "merge_command"),
]


#: Commands that read logs: each takes the shared --map/--model/--timezone options.
READS_LOGS = frozenset({"summarize", "diff-prompts", "drift", "export-dataset", "redact",
                        "convert", "report", "traces", "retrieval"})


def with_read_options(func: F) -> F:
    """The command with ``--map``, ``--model`` and ``--timezone`` added to its options; they
    (and the config file) set the read options of every ``read_logs`` the command makes."""
    from genailog.cli.options import (
        DefaultModel,
        FieldMap,
        TimeZone,
        keyword_options,
        show_options,
    )

    added = keyword_options(func, (("field_map", FieldMap, None), ("model", DefaultModel, None),
                                   ("timezone", TimeZone, None)))
    if not added:
        return func

    @functools.wraps(func)
    def wrapper(*args: Any, field_map: list[str] | None = None, model: str | None = None,
                timezone: str | None = None, **kwargs: Any) -> Any:
        from genailog.cli.options import read_options
        from genailog.ingest.context import default_options

        with default_options(read_options(field_map, model, timezone)):
            return func(*args, **kwargs)

    return show_options(wrapper, func, added)  # type: ignore[no-any-return]


def build_app(only: str | None = None) -> typer.Typer:
    """The application with every command, or with the command ``only`` alone."""
    built = typer.Typer(
        name="genailog",
        help="Analyze generative-AI application logs offline: validate, summarize, "
        "diff prompt versions, detect drift, export datasets.",
        epilog="Exit codes: 0 ok, 1 check failed, 2 usage error, 3 unreadable or invalid "
        "input, 4 output not written, 70 internal error. Example: genailog summarize "
        "sample_logs/",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    built.callback()(main_callback)
    _register(built, only)
    return built


def _register(target: typer.Typer, only: str | None) -> None:
    from genailog.cli.options import with_output_options

    for name, module, func in COMMANDS:
        if only is not None and name != only:
            continue
        try:
            mod = importlib.import_module(f"genailog.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"genailog.cli.{module}":
                continue  # command not built yet
            raise
        command = with_output_options(name, getattr(mod, func))
        if name in READS_LOGS:
            command = with_read_options(command)
        target.command(name)(handle_errors(command, name in READS_LOGS))


def __getattr__(name: str) -> Any:
    if name == "app":  # every command: for tests, documentation and shell completion
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def asked_command(args: list[str]) -> str | None:
    """The command ``args`` run, when it is one of ours and comes first (after --debug):
    then only its module is needed. Anything else (``--help``, ``--version``, a typo,
    completion) gets every command."""
    names = {name for name, _, _ in COMMANDS}
    for arg in args:
        if arg != "--debug":
            return arg if arg in names else None
    return None


#: The environment variable of polars' allocator (jemalloc, its symbols prefixed ``_rjem_``).
ALLOCATOR_CONF = "_RJEM_MALLOC_CONF"


def _allocator_arenas() -> None:
    """One allocator arena per core this process may use, instead of jemalloc's four: set
    before polars loads (jemalloc reads it once, at its first allocation), unless the user
    set the variable. Polars' threads each take an arena, and memory one of them frees is
    only reused from that arena: with fewer arenas, more of it is reused rather than taken
    fresh from the kernel (which zeroes every page). A summary of 1M Parquet rows peaked
    at 255 instead of 309 MB, with 55k instead of 67k page faults and 35 ms less system
    time (12 alternating runs, bench/README.md). No effect where polars has another
    allocator; spawned workers inherit it."""
    import os

    if ALLOCATOR_CONF not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        os.environ[ALLOCATOR_CONF] = f"narenas:{cores}"


def main() -> None:
    """Console-script entry point."""
    import gc
    import signal

    gc.disable()  # during start-up only: turned on again by _end_start_up
    _allocator_arenas()

    def _stop(signum: int, frame: object) -> None:
        # SIGTERM/SIGHUP (CI cancelling a job) run the cleanup that finally blocks do:
        # temporary output files and cache entries are removed
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    _state["workers"] = True  # large files read on every core (genailog.ingest.parallel)
    try:
        build_app(asked_command(sys.argv[1:]))()
    except SystemExit as done:
        if _is_program():
            _exit_now(done)
        raise


def _is_program() -> bool:
    """Whether this process is the ``genailog`` program (its console script, or ``python -m
    genailog``), which ends when :func:`main` does: not code that calls ``main`` and goes
    on after it (a test's ``python -c``, whose ``__main__`` has no file)."""
    top = sys.modules.get("__main__")
    return getattr(top, "main", None) is main and getattr(top, "__file__", None) is not None


def _exit_now(done: SystemExit) -> None:
    """End the program with ``done``'s status without the interpreter's finalization,
    which a summary of 1M records spent 15-25 ms on (tearing down polars' modules and
    freeing what the command held, which the kernel frees anyway). What of it matters is
    done first: stdout and stderr flushed, the ``atexit`` handlers run (the log writers',
    multiprocessing's, a remote download's clean-up). Returns, and the caller lets Python
    exit as usual, when that cannot be assured: a thread that Python would wait for is
    still running, the status is a message to print, or a flush fails (a closed pipe:
    Python then reports it and exits 120, as before)."""
    import atexit
    import os
    import threading

    status = 0 if done.code is None else done.code
    if not isinstance(status, int) or any(
            thread.is_alive() and not thread.daemon for thread in threading.enumerate()
            if thread is not threading.main_thread()):
        return
    if not _flushed():
        return
    atexit._run_exitfuncs()
    os._exit(status if _flushed() else 120)  # 120: Python's status when a flush fails


def _flushed() -> bool:
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return False
    return True
