"""HDF5 schema v1: round trip, refusal of incomplete / foreign / newer files, atomic writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from causalgen.errors import DatasetError
from causalgen.io import VariableInfo, open_dataset, write_arrays
from causalgen.io import schema as S

VARS = [VariableInfo("a", "m", 0, 1), VariableInfo("b", "", -1, 1)]


def small(path: Path, **kw) -> Path:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (50, 8, 8, 3), dtype=np.uint8)
    labels = rng.random((50, 2)).astype(np.float32)
    return write_arrays(path, images, labels, VARS, np.array([[0, 1], [0, 0]]), seed=5, **kw)


def test_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (50, 8, 8, 3), dtype=np.uint8)
    labels = rng.random((50, 2)).astype(np.float32)
    split = (np.arange(50) % 5 == 0).astype(np.uint8)
    for comp in S.COMPRESSIONS:
        p = write_arrays(tmp_path / f"{comp}.h5", images, labels, VARS, np.array([[0, 1], [0, 0]]),
                         split=split, compression=comp)
        with open_dataset(p) as d:
            assert np.array_equal(d.images[...], images)
            assert np.array_equal(d.labels, labels) and d.labels.dtype == np.float32
            assert d.variables == VARS and d.variable_names == ["a", "b"]
            assert d.adjacency.dtype == np.int8 and d.adjacency[0, 1] == 1
            assert list(d.indices("test")) == list(range(0, 50, 5))
            assert d.images.chunks[0] == S.IMAGES_PER_CHUNK
            assert (d.images.compression or "none") == comp


def test_refuses_missing_foreign_newer_incomplete(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        open_dataset(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(DatasetError, match="not an HDF5 file"):
        open_dataset(tmp_path / "text.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DatasetError, match="not a causalgen dataset"):
        open_dataset(tmp_path / "foreign.h5")
    p = small(tmp_path / "newer.h5")
    with h5py.File(p, "a") as f:
        f.attrs[S.ATTR_SCHEMA_VERSION] = S.SCHEMA_VERSION + 1
    with pytest.raises(DatasetError, match="newer"):
        open_dataset(p)
    p = small(tmp_path / "incomplete.h5")
    with h5py.File(p, "a") as f:
        f.attrs[S.ATTR_COMPLETE] = False
    with pytest.raises(DatasetError, match="incomplete"):
        open_dataset(p)


def test_existing_output_refused_unless_overwrite(tmp_path: Path) -> None:
    p = small(tmp_path / "x.h5")
    with pytest.raises(DatasetError, match="--overwrite"):
        small(p)
    small(p, overwrite=True)
    with pytest.raises(DatasetError, match="does not exist"):
        small(tmp_path / "missing_dir" / "x.h5")


def test_failure_mid_write_leaves_nothing(tmp_path: Path) -> None:
    from causalgen.io import DatasetWriter

    out = tmp_path / "x.h5"
    with pytest.raises(RuntimeError), DatasetWriter(out, n=4, image_shape=(4, 4, 3), variables=VARS,
                                                    attrs={}) as w:
        w.write(0, np.zeros((2, 4, 4, 3), np.uint8), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_generation_killed_midway_leaves_nothing_that_reads_complete(tmp_path: Path) -> None:
    out = tmp_path / "killed.h5"
    code = ("from causalgen.generate import generate; "
            f"generate('pendulum-v1', {str(out)!r}, n=200000, size=32, workers=1)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob("*.partial")):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    partial = list(tmp_path.glob("*.partial"))
    assert partial, "the writer should have been writing under a temporary name"
    with pytest.raises(DatasetError, match="incomplete"):  # unreadable or not marked complete
        open_dataset(partial[0])
    os.unlink(partial[0])
