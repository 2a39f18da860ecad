"""Faults: kill -9, two writers of one name, a read-only place, a full disk, an export killed
mid-swap, and the leftovers of dead processes. Each ends in one clear message (or a clean
recovery on the next run) with the data safe."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from causalgen.errors import DatasetError
from causalgen.export import export
from causalgen.generate import generate
from causalgen.io import open_dataset
from causalgen.io import writer as writer_module
from causalgen.io.safefs import OutputClaim, remove_stale, swap_into_place
from cli.causalgen import main

ROOT = Path(__file__).resolve().parents[2]
DEAD_PID = 999_999_999  # above any pid_max: never a live process


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _running(pid: int) -> bool:
    """Whether any thread of ``pid`` is still alive. The leader's own state is not enough: it
    shows Z (zombie) while another thread (a worker's parent watchdog) is still exiting, and
    the open files, the output lock among them, are closed only when the last thread ends."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            return True
    return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_kill_9_of_a_generation_leaves_no_worker_running(tmp_path: Path) -> None:
    code = ("from causalgen.generate import generate; "
            f"generate('pendulum-v1', {str(tmp_path / 'big.h5')!r}, n=200000, size=32, workers=2)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = [p for p in _children(parent.pid) if _running(p)]
        assert len(workers) >= 2, "the pool did not start"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(p) for p in workers):
            time.sleep(0.1)
        assert not [p for p in workers if _running(p)]
    finally:
        if parent.poll() is None:
            parent.kill()
    leftovers = list(tmp_path.iterdir())
    assert all(p.name.endswith((".partial", ".lock")) for p in leftovers)
    # the next generation of that name cleans the dead writer's partial file
    generate("pendulum-v1", tmp_path / "big.h5", n=40, size=16, workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.h5"]


def _writer(path: Path) -> writer_module.DatasetWriter:
    from causalgen.io.schema import VariableInfo

    return writer_module.DatasetWriter(path, n=4, image_shape=(8, 8, 3),
                                       variables=[VariableInfo("a")], attrs={})


def test_a_second_writer_of_the_same_name_fails_at_once(tmp_path: Path) -> None:
    out = tmp_path / "d.h5"
    first = _writer(out)
    try:
        with pytest.raises(DatasetError, match=rf"being written by another process \(pid "
                                               rf"{os.getpid()}\)"):
            generate("pendulum-v1", out, n=40, size=16, workers=1)
        with pytest.raises(DatasetError, match="being written by another process"):
            _writer(out)
    finally:
        first._abort()
    assert list(tmp_path.iterdir()) == []  # claim released, partial removed
    generate("pendulum-v1", out, n=40, size=16, workers=1)  # the name is free again


def test_a_claim_survives_the_unlink_race(tmp_path: Path) -> None:
    out = tmp_path / "x"
    with OutputClaim(out):
        pass  # released and unlinked
    with OutputClaim(out), pytest.raises(DatasetError):
        OutputClaim(out)


@pytest.mark.parametrize(("code", "message"), [
    (errno.EROFS, "read-only file system"), (errno.EACCES, "permission denied"),
    (errno.ENOSPC, "the disk is full")])
def test_an_unwritable_place_is_one_message_and_the_old_file_is_safe(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, message: str) -> None:
    out = tmp_path / "d.h5"
    generate("pendulum-v1", out, n=40, size=16, workers=1, seed=1)
    before = out.read_bytes()

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / "d.h5.partial"))

    monkeypatch.setattr(writer_module.h5py, "File", refuse)
    result = CliRunner().invoke(main, ["pendulum", "--n", "40", "--size", "16", "--workers",
                                       "1", "--out", str(out), "--overwrite"])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]


def test_a_disk_that_fills_mid_write_is_one_message_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "d.h5"
    generate("pendulum-v1", out, n=40, size=16, workers=1, seed=1)
    before = out.read_bytes()
    calls = []

    def full(self, *args, **kwargs):  # h5py's message for a full disk: errno only in the text
        calls.append(1)
        raise OSError("Can't write data (file write failed: time = Tue Dec  1, filename = "
                      "'d.h5.partial', errno = 28, error message = 'No space left on device')")

    monkeypatch.setattr(writer_module.DatasetWriter, "_write", full)
    with pytest.raises(DatasetError, match="the disk is full"):
        generate("pendulum-v1", out, n=600, size=16, workers=1, overwrite=True)
    assert calls and out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate("pendulum-v1", tmp_path_factory.mktemp("exp") / "s.h5", n=40, size=16,
                    workers=1)


def test_an_export_killed_between_its_two_renames_is_repaired_on_the_next_run(
        small: Path, tmp_path: Path) -> None:
    out = tmp_path / "folders"
    export(small, out)
    marker = sorted(p.name for p in out.rglob("*"))
    # What a kill between `rename(out, old)` and `rename(tmp, out)` leaves: no --out.
    out.rename(tmp_path / f".folders.{DEAD_PID}.old")
    (tmp_path / f".folders.{DEAD_PID}.partial").mkdir()
    assert not out.exists()
    remove_stale(out)  # what any next export does first
    assert sorted(p.name for p in out.rglob("*")) == marker
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folders"]
    # and an export --overwrite after such a kill ends with the new export in place
    out.rename(tmp_path / f".folders.{DEAD_PID}.old")
    export(small, out, overwrite=True)
    assert sorted(p.name for p in out.rglob("*")) == marker
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folders"]


def test_the_directory_swap_never_leaves_out_missing(tmp_path: Path) -> None:
    out, new = tmp_path / "out", tmp_path / ".out.1.partial"
    out.mkdir()
    (out / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    swap_into_place(new, out)
    assert [p.name for p in out.iterdir()] == ["new.txt"] and not new.exists()


def test_stale_partials_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "d.h5"
    dead = tmp_path / f"d.h5.{DEAD_PID}.partial"
    live = tmp_path / f"d.h5.{os.getppid()}.partial"
    other = tmp_path / f"e.h5.{DEAD_PID}.partial"
    for p in (dead, live, other):
        p.write_bytes(b"x")
    generate("pendulum-v1", out, n=40, size=16, workers=1)
    assert not dead.exists() and live.exists() and other.exists()
    with open_dataset(out) as ds:
        assert ds.n == 40 and np.isfinite(ds.labels).all()
