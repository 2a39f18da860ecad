"""Safe writes to the file system: an exclusive claim on an output name, the clean-up of what
dead processes left behind, an atomic directory swap, and OS errors turned into one message.

- :class:`OutputClaim` holds an ``fcntl`` lock on ``.NAME.lock`` beside the output for the
  duration of a write: a second writer to the same name fails at once with the first one's pid.
  The lock dies with its process (even under ``kill -9``), so a claim is never stale.
- :func:`remove_stale` deletes ``NAME.<pid>.partial`` (and ``.NAME.<pid>.partial``) files whose
  writer no longer runs; it restores ``.NAME.<pid>.old`` (a directory moved aside by an export
  killed mid-swap) when ``NAME`` itself is missing.
- :func:`swap_into_place` replaces a directory by another atomically (``renameat2`` with
  ``RENAME_EXCHANGE`` on Linux), falling back to two renames that :func:`remove_stale` repairs.
- :func:`os_error` maps a read-only directory, a full disk or a missing permission to a
  :class:`DatasetError` saying what happened and what to do.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
from pathlib import Path
from types import TracebackType

from causalgen.errors import DatasetError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no claim, as before
    fcntl = None  # type: ignore[assignment]

_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists (ours or someone else's)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputClaim:
    """An exclusive claim on writing ``path``, held until :meth:`release` (or process death)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = path.with_name(f".{path.name}.lock")
        self._fd: int | None = None
        if fcntl is None:  # pragma: no cover
            return
        while True:
            fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise DatasetError(
                    f"{path} is being written by another process (pid {holder}) right now; "
                    "wait for it to finish, or choose another --out.") from None
            except OSError:
                os.close(fd)
                raise
            # The holder before us may have unlinked the lock file after locking it: only a
            # lock on the file that the name still points to counts.
            try:
                same = os.stat(self.lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.lock.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> OutputClaim:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def remove_stale(path: Path) -> list[Path]:
    """Clean what dead writers of ``path`` left: partial files and directories, and a directory
    moved aside by an interrupted swap (restored when ``path`` is missing). Returns what went."""
    pattern = re.compile(r"^\.?" + re.escape(path.name) + r"\.(\d+)\.(partial|old)$")
    gone = []
    try:
        entries = list(path.parent.iterdir()) if path.parent.is_dir() else []
    except OSError:
        return gone
    for entry in sorted(entries, key=lambda p: p.name.endswith(".partial")):  # .old first
        match = pattern.match(entry.name)
        if not match or pid_alive(int(match.group(1))):
            continue
        if match.group(2) == "old" and not os.path.lexists(path):
            os.rename(entry, path)  # the swap was killed between its renames: undo it
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        gone.append(entry)
    return gone


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_into_place(tmp: Path, out: Path) -> None:
    """Replace the directory ``out`` by the finished ``tmp``: at no moment is ``out`` missing
    where the kernel can exchange them; elsewhere, a kill between the two renames leaves
    ``.NAME.<pid>.old``, which :func:`remove_stale` moves back on the next run."""
    if _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old contents
        return
    old = out.with_name(f".{out.name}.{os.getpid()}.old")
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def os_error(exc: OSError, path: Path | str, what: str = "write") -> DatasetError | None:
    """A DatasetError for a full disk or an unwritable place, or None for other OS errors.

    h5py reports HDF5's errors as OSError whose errno may be unset, with the C errno in the
    text ("errno = 28"), so both are looked at.
    """
    code = exc.errno
    if code is None:
        found = re.search(r"errno = (\d+)", str(exc))
        code = int(found.group(1)) if found else None
    if code in _NO_SPACE:
        return DatasetError(f"cannot {what} {path}: the disk is full (or over quota). Nothing "
                            "was kept: free some space, or choose --out on another disk.")
    if code in _READ_ONLY:
        return DatasetError(f"cannot {what} {path}: permission denied or read-only file system. "
                            "Nothing was written: choose a writable --out.")
    return None


__all__ = ["OutputClaim", "os_error", "pid_alive", "remove_stale", "swap_into_place"]
