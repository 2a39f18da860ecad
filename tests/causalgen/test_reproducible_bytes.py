"""Bit-identical datasets: regenerate small datasets and compare their SHA-256 to recorded ones.

The hashes in ``data/reproducible_bytes.json`` were recorded with the code as it stood before
the layout refactor (issue 16); any change to sampling, physics, rendering or the file layout
changes them. Every HDF5 dataset (images, labels, noise, split, intervened, counterfactual/...)
and every attribute except the generator version is hashed. Re-record only on purpose, after a
scene's version bump: ``python tests/causalgen/test_reproducible_bytes.py --record``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from causalgen.generate import generate
from causalgen.io import schema as S

ROOT = Path(__file__).resolve().parents[2]
RECORD = Path(__file__).with_name("data") / "reproducible_bytes.json"
SCENES = ROOT / "data" / "scenes"

# name -> keyword arguments of generate(); "spec" names a bundled spec file.
CASES: dict[str, dict[str, Any]] = {
    "pendulum": {"scene": "pendulum-v1", "n": 40, "seed": 3},
    "pendulum-two-blocks": {"scene": "pendulum-v1", "n": 300, "seed": 2},
    "pendulum-do": {"scene": "pendulum-v1", "n": 40, "seed": 4,
                    "do": {"light_angle": 100.0, "pendulum_angle": "uniform(-10, 10)"}},
    "pendulum-cf": {"scene": "pendulum-v1", "n": 40, "seed": 5,
                    "counterfactual": {"pendulum_angle": 0.0}},
    "pendulum-mix": {"scene": "pendulum-v1", "n": 40, "seed": 6, "intervention_mix": 0.5},
    "flow": {"scene": "flow-v1", "n": 40, "seed": 7},
    "flow-cf": {"scene": "flow-v1", "n": 40, "seed": 8, "counterfactual": {"hole_height": 5.0}},
    "pendulum-noisy-spec": {"spec": "pendulum-noisy.toml", "n": 40, "seed": 9},
    "flow-reference-spec": {"spec": "flow-reference.toml", "n": 40, "seed": 10},
    "sun-ball-panel": {"spec": "sun-ball-panel.toml", "n": 40, "seed": 11},
    "sun-ball-panel-do-cf": {"spec": "sun-ball-panel.toml", "n": 40, "seed": 12,
                             "do": {"ball_size": 1.5},
                             "counterfactual": {"light_angle": 90.0}},
    "chain-mix": {"spec": "chain.toml", "n": 40, "seed": 13, "intervention_mix": 0.5},
    "collider": {"spec": "collider-confounded.toml", "n": 40, "seed": 14},
}


def _load_spec(path: Path) -> Any:
    from causalgen.scenes.files import load_spec

    return load_spec(path)


def make(case: dict[str, Any], out: Path) -> Path:
    kw = dict(case)
    spec = kw.pop("spec", None)
    if spec is not None:
        loaded = _load_spec(SCENES / spec)
        kw.update(scene=loaded.scene_id, scm=loaded.scm, scene_kwargs=loaded.scene_kwargs)
    scene = kw.pop("scene")
    return generate(scene, out, size=32, workers=1, **kw)


def digest(path: Path) -> dict[str, str]:
    """SHA-256 of every dataset (dtype, shape and bytes) and of the attributes."""
    out: dict[str, str] = {}
    with h5py.File(path, "r") as f:
        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                a = np.ascontiguousarray(obj[...])
                h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
                h.update(a.tobytes())
                out[name] = h.hexdigest()
            attrs = {k: v for k, v in obj.attrs.items() if k != S.ATTR_GENERATOR_VERSION}
            if attrs:
                text = repr(sorted((k, repr(np.asarray(v).tolist())) for k, v in attrs.items()))
                out[f"{name}@attrs"] = hashlib.sha256(text.encode()).hexdigest()
        visit("/", f)
        f.visititems(visit)
    return out


def _recorded() -> dict[str, dict[str, str]]:
    return json.loads(RECORD.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_dataset_bytes_unchanged(name: str, tmp_path: Path) -> None:
    expected = _recorded()[name]
    got = digest(make(CASES[name], tmp_path / f"{name}.h5"))
    assert set(got) == set(expected)
    changed = sorted(k for k in got if got[k] != expected[k])
    assert not changed, f"{name}: these changed: {changed}"


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    with tempfile.TemporaryDirectory() as tmp:
        record = {name: digest(make(case, Path(tmp) / f"{name}.h5")) for name, case in CASES.items()}
    RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {len(record)} datasets in {RECORD}")
