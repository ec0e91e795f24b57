"""Connecting to an engine and mapping a function over units: the only module that
imports the engine's own package, and only when a run starts.

``--engine dask`` starts a local cluster of worker processes on 127.0.0.1 (one per CPU,
or ``workers``, or ``GENAILOG_ENGINE_WORKERS``); ``--engine dask://HOST:PORT`` uses a
running Dask scheduler, whose workers need genailog installed and read access to the
inputs (object storage URLs, or paths they share with the client).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from genailog.errors import UsageError

ENGINES = ("dask",)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class EngineSpec:
    """An engine name and, for a running cluster, its scheduler address."""

    name: str
    address: str | None = None

    def __str__(self) -> str:
        return f"{self.name}://{self.address}" if self.address else self.name


def parse_engine(text: str) -> EngineSpec:
    """``dask`` (a local cluster) or ``dask://HOST:PORT`` (a running scheduler)."""
    name, sep, address = text.strip().partition("://")
    if name not in ENGINES:
        raise UsageError(f"--engine {text!r}: unknown engine; known: {', '.join(ENGINES)} "
                         "(as NAME or NAME://HOST:PORT)")
    if sep and not address.strip():
        raise UsageError(f"--engine {text!r}: give the scheduler address after "
                         f"{name}://, e.g. {name}://127.0.0.1:8786")
    return EngineSpec(name, address.strip() or None)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("--engine dask needs Dask's distributed package: "
                         "pip install 'genailog[dask]'") from None
    return distributed


@contextmanager
def connect(spec: EngineSpec, workers: int | None = None) -> Iterator[Any]:
    """A Dask client: to the scheduler at ``spec.address``, or to a local cluster of
    ``workers`` processes (one thread each) that lives as long as the block."""
    distributed = _distributed()
    if spec.address:
        address = spec.address if "://" in spec.address else f"tcp://{spec.address}"
        _check_reachable(spec, address)
        try:
            client = distributed.Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--engine {spec}: cannot reach the Dask scheduler: "
                             f"{exc}") from None
        with client:
            yield client
        return
    n = workers or _workers_from_env() or os.cpu_count() or 1
    # Everything listens on 127.0.0.1 only, the status page on a free port.
    with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _workers_from_env() -> int | None:
    """``GENAILOG_ENGINE_WORKERS``: the local cluster's size (default: one per CPU)."""
    text = os.environ.get("GENAILOG_ENGINE_WORKERS", "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise UsageError(f"GENAILOG_ENGINE_WORKERS={text!r}: give a number of worker "
                         "processes from 1 to 256")
    return int(text)


def _check_reachable(spec: EngineSpec, address: str) -> None:
    """A refused or unresolvable TCP address fails at once, not after the client's wait."""
    host, _, port = address.partition("://")[2].rpartition(":")
    if not address.startswith("tcp://") or not port.isdigit():
        return  # other transports: the client says what is wrong
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise UsageError(f"--engine {spec}: cannot reach the Dask scheduler: "
                         f"{exc.strerror or exc}") from None


def map_units(func: Callable[[T], R], units: Sequence[T], spec: EngineSpec,
              workers: int | None = None) -> list[R]:
    """``func`` over every unit on the engine's workers; results in unit order. A task's
    exception (an unreadable file, say) is raised here as it was raised there."""
    if not units:
        return []
    with connect(spec, workers) as client:
        futures = client.map(func, list(units), pure=False)
        return list(client.gather(futures))
