"""HDF5 schema v1: round trip, refusal of incomplete / foreign / newer files, atomic writes."""

from __future__ import annotations

import json
import os
import shutil
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


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly written small file; tests damage copies of it."""
    return small(tmp_path_factory.mktemp("pristine") / "good.h5")


def damaged(pristine: Path, tmp_path: Path, edit, name: str = "damaged.h5") -> Path:
    """A copy of ``pristine`` with ``edit(h5py.File)`` applied in "r+" mode."""
    p = Path(shutil.copy(pristine, tmp_path / name))
    with h5py.File(p, "r+") as f:
        edit(f)
    return p


def _set(key: str, value):
    def edit(f: h5py.File) -> None:
        f.attrs[key] = value
    return edit


def _variables_with(**extra):
    entries = [{**v.to_dict(), **extra} if i == 1 else v.to_dict() for i, v in enumerate(VARS)]
    return _set(S.ATTR_VARIABLES, json.dumps(entries))


@pytest.mark.parametrize(
    ("edit", "attr", "problem"),
    [
        (lambda f: f.attrs.__delitem__(S.ATTR_VARIABLES), "variables", "lacks variables"),
        (_set(S.ATTR_VARIABLES, "not json ["), "'variables'", "is not valid JSON"),
        (_set(S.ATTR_VARIABLES, json.dumps({"a": 1})), "'variables'", "should be a JSON list"),
        (_set(S.ATTR_VARIABLES, np.arange(3)), "'variables'", "should be text"),
        (_set(S.ATTR_VARIABLES, json.dumps(["a", "b"])), "'variables'",
         "entry 0 should be a JSON object"),
        (_variables_with(colour="red"), "'variables'", "entry 1 has unknown key(s) 'colour'"),
        (_set(S.ATTR_VARIABLES, json.dumps([{"unit": "m"}, {"name": "b"}])), "'variables'",
         "lacks the required key 'name'"),
        (_variables_with(low="zero"), "'variables'", "entry 1 has low = 'zero'"),
        (_set(S.ATTR_ADJACENCY, np.zeros((3, 3), np.int8)), "'adjacency'",
         "has shape (3, 3), but the file has 2 variables"),
        (_set(S.ATTR_ADJACENCY, "[[0, 1], [0, 0]]"), "'adjacency'", "should be an integer"),
        (_set(S.ATTR_ADJACENCY, np.array([[0, 7], [0, 0]], np.int8)), "'adjacency'",
         "only 0 and 1"),
        (_set(S.ATTR_SEED, "five"), "'seed'", "should be an integer but is 'five'"),
        (_set(S.ATTR_SEED, 5.5), "'seed'", "should be an integer"),
        (_set(S.ATTR_INTERVENTION, "do(a=1)"), "'intervention'", "is not valid JSON"),
        (_set(S.ATTR_INTERVENTION, "[1, 2]"), "'intervention'", "should be a JSON object"),
        (_set(S.ATTR_SCENE_KWARGS, "{oops"), "'scene_kwargs'", "is not valid JSON"),
        (_set(S.ATTR_SHARD, json.dumps({"index": 0})), "'shard'", "integer 'count'"),
        (_set(S.ATTR_SCENE, 3), "'scene'", "should be text"),
    ],
    ids=["variables-missing", "variables-not-json", "variables-not-list", "variables-array",
         "variable-not-object", "variable-unknown-key", "variable-no-name", "variable-bad-low",
         "adjacency-shape", "adjacency-text", "adjacency-values", "seed-text", "seed-float",
         "intervention-not-json", "intervention-not-object", "scene-kwargs-not-json",
         "shard-incomplete", "scene-not-text"],
)
def test_refuses_damaged_attributes(pristine: Path, tmp_path: Path, edit, attr: str,
                                    problem: str) -> None:
    p = damaged(pristine, tmp_path, edit)
    with pytest.raises(DatasetError) as info:
        open_dataset(p)
    msg = str(info.value)
    assert str(p) in msg and attr in msg and problem in msg
    assert "egenerate" in msg  # says the fix
    with open_dataset(pristine) as d:  # the original is untouched and still reads
        assert d.variables == VARS and d.seed == 5 and d.intervention == {}


def test_refuses_damaged_datasets_and_counterfactual(pristine: Path, tmp_path: Path) -> None:
    def short_labels(f: h5py.File) -> None:
        del f[S.LABELS]
        f[S.LABELS] = np.zeros((50, 3), np.float32)

    p = damaged(pristine, tmp_path, short_labels)
    with pytest.raises(DatasetError, match=r"'labels' has shape \(50, 3\), expected \(50, 2\)"):
        open_dataset(p)

    def bad_counterfactual(f: h5py.File) -> None:
        g = f.create_group(S.COUNTERFACTUAL)
        for key in (S.IMAGES, S.LABELS, S.NOISE):
            g[key] = f[key][...]
        g.attrs[S.ATTR_INTERVENTION] = "{not json"

    p = damaged(pristine, tmp_path, bad_counterfactual, name="cf.h5")
    with pytest.raises(DatasetError, match="attribute 'counterfactual/intervention' is not valid"):
        open_dataset(p)


def test_existing_output_refused_unless_overwrite(tmp_path: Path) -> None:
    p = small(tmp_path / "x.h5")
    with pytest.raises(DatasetError, match="--overwrite"):
        small(p)
    small(p, overwrite=True)
    with pytest.raises(DatasetError, match="does not exist"):
        small(tmp_path / "missing_dir" / "x.h5")


def test_overwrite_never_replaces_a_file_that_is_not_a_dataset(tmp_path: Path) -> None:
    # `causalgen scene my.toml --out my.toml --overwrite` replaced the spec by the dataset (and
    # `causalgen import --labels l.csv --out l.csv --overwrite` the labels)
    spec = tmp_path / "my.toml"
    spec.write_text('scene = "pendulum-v1"\n')
    with pytest.raises(DatasetError, match="exists and is not an HDF5 file; --overwrite only"):
        small(spec, overwrite=True)
    assert spec.read_text() == 'scene = "pendulum-v1"\n'
    empty = tmp_path / "empty.h5"
    empty.touch()  # an empty file is still replaced, and so is a dataset
    small(small(empty, overwrite=True), overwrite=True)


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
