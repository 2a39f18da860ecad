"""Where training runs: device choice, torchrun/DDP setup, CPU threads and allocator, autocast,
Ctrl-C handling, and the progress bar.

Distributed training is detected from the environment that ``torchrun`` sets (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT), also for ``--nproc_per_node 1``. The process group uses
NCCL on CUDA and gloo on CPU. Only rank 0 logs, writes checkpoints and metrics.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TextIO

import torch
import torch.distributed as dist

from causalvae.errors import ConfigError

__all__ = ["ProgressBar", "Runtime", "autocast", "graceful_sigint", "resolve_device",
           "setup_runtime", "tune_malloc"]

log = logging.getLogger(__name__)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc mallopt parameters


def tune_malloc() -> bool:
    """Make glibc keep freed memory instead of handing it back to the OS (CPU training).

    A training step frees and reallocates the same large tensors (activations, gradients: 450 MB
    for one weight of the reference preset) every step. By default glibc serves them with mmap
    and returns them on free, so every step page-faults them in again, zeroed: measured on two
    cores, 25-35% of the step time. Serving everything from the heap (M_MMAP_MAX = 0) and never
    trimming it keeps the memory in the process: the resident size stays at its peak instead.
    Process-wide; a no-op (False) where libc is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    except (OSError, AttributeError):
        return False


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; asking for CUDA without one is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA device is available on this machine; "
                          "use --device cpu or auto")
    return device


@dataclass
class Runtime:
    """The process's place in a (possibly single-process) run."""

    device: torch.device
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    distributed: bool = False
    owns_process_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.distributed:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        if self.owns_process_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_process_group = False


def setup_runtime(device_name: str, threads: int = 0, malloc: bool = True) -> Runtime:
    """Pick the device, join the process group when launched by torchrun, set CPU threads.

    ``malloc``: on CPU, apply :func:`tune_malloc`.
    """
    env = os.environ
    distributed = "RANK" in env and "WORLD_SIZE" in env
    rank = int(env.get("RANK", 0))
    world = int(env.get("WORLD_SIZE", 1))
    local_rank = int(env.get("LOCAL_RANK", 0))
    local_world = int(env.get("LOCAL_WORLD_SIZE", world))
    device = resolve_device(device_name)
    if device.type == "cuda" and (distributed or device.index is None):
        device = torch.device("cuda", local_rank if distributed else torch.cuda.current_device())
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // max(local_world, 1)))
        if malloc and not tune_malloc():
            log.debug("malloc tuning unavailable (not glibc)")
    owns = False
    if distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, init_method="env://", rank=rank,
                                world_size=world)
        owns = True
    return Runtime(device=device, rank=rank, local_rank=local_rank, world_size=world,
                   distributed=distributed, owns_process_group=owns)


def autocast(device: torch.device, cuda: bool, cpu: bool = False) -> AbstractContextManager:
    """bf16 autocast on CUDA when ``cuda``, on CPU when ``cpu``; else a disabled autocast (the
    same code path either way)."""
    on = cuda if device.type == "cuda" else cpu if device.type == "cpu" else False
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)


@contextlib.contextmanager
def graceful_sigint(request_stop: Callable[[], None]) -> Iterator[None]:
    """Turn the first Ctrl-C into ``request_stop()`` (the caller stops at a safe point); a
    second one raises KeyboardInterrupt at once. Only in the main thread (elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = []

    def handle(signum: int, frame: object) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)
        request_stop()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class ProgressBar:
    """A one-line progress bar with the current loss terms, drawn only on a terminal."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 enabled: bool = True, min_interval: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.total, self.label, self.min_interval = max(total, 1), label, min_interval
        self._last = 0.0

    def update(self, done: int, terms: dict[str, float], rate: float) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < self.min_interval and done < self.total):
            return
        self._last = now
        width = 24
        filled = int(width * done / self.total)
        shown = " ".join(f"{k} {v:.4g}" for k, v in terms.items())
        line = (f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
                f"{shown} | {rate:,.0f} img/s")
        self.stream.write(line[: 200] + "\033[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
