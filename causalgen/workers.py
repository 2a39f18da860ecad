"""Worker processes that end with their parent, even when the parent is killed with ``kill -9``.

A pool's workers normally notice their parent's death only when they next talk to it, and a
worker busy rendering a block, or waiting on a queue whose other end died, may never do so.
:func:`die_with_parent`, run as a pool initializer, asks Linux to send the worker SIGKILL when
its parent dies (``prctl(PR_SET_PDEATHSIG)``) and, everywhere, starts a daemon thread that polls
``os.getppid()`` and exits the worker once the parent is gone (re-parented to init).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5


def die_with_parent() -> None:
    """Make this process end when its parent ends (call it first in a worker)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watchdog alone
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="causalgen-parent-watch",
                     daemon=True).start()


def _watch(parent: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)  # no clean-up: the parent's partial file is cleaned by the next run


__all__ = ["die_with_parent"]
