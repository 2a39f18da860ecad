"""Executors for the generation driver: connecting to a Dask cluster, with clear failures.

:func:`causalgen.generate.generate` runs its blocks on any ``concurrent.futures.Executor``;
this module provides the one for a Dask cluster (the optional ``dask`` extra,
``dask[distributed]``). Blocks are seeded from (seed, block) only, so a cluster run writes the
same bytes as a local one. A scheduler that cannot be reached is a :class:`SchedulerError`
raised before any output exists.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from causalgen.errors import SchedulerError

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0


def _probe(address: str, timeout: float) -> None:
    """Fail fast on a malformed or closed tcp address (a half-made Client hangs on exit)."""
    scheme, sep, rest = address.rpartition("://")
    scheme = scheme if sep else "tcp"
    if scheme not in ("tcp", "tls"):
        return  # inproc://, ucx://, ...: left to distributed
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit() or not host:
        raise SchedulerError(f"--dask-scheduler {address!r}: expected an address like "
                             "tcp://HOST:8786 (host and port); nothing was written.")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address!r} ({exc.strerror or exc}). Check the "
            "address and that `dask scheduler` is running there; nothing was written."
        ) from None


@contextmanager
def dask_executor(address: Any, timeout: float | None = None) -> Iterator[tuple[Executor, int]]:
    """(executor, worker threads) of the Dask scheduler at ``address`` (``tcp://host:8786``,
    or a ``distributed`` cluster object); the client is closed on exit."""
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError("--dask-scheduler needs dask.distributed; install the extra: "
                             "pip install 'causalgen[dask]'.") from None
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    if isinstance(address, str):
        _probe(address, timeout)
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s ({exc}). "
            "Check the address (e.g. tcp://HOST:8786) and that `dask scheduler` is running "
            "there; nothing was written."
        ) from None
    try:
        info = client.scheduler_info()
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        if threads == 0:
            log.warning("the Dask scheduler at %s has no workers yet; blocks wait for one", address)
        log.info("Dask scheduler %s: %d workers, %d threads", address,
                 len(info.get("workers", {})), threads)
        executor = client.get_executor()
        try:
            yield executor, max(1, threads)
        finally:
            executor.shutdown(wait=False)
    finally:
        client.close()


__all__ = ["dask_executor"]
