"""Exports: CausalVAE folders read back the way the reference loader reads them, and npz."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from causalgen import export as export_module
from causalgen.errors import DatasetError
from causalgen.export import export
from causalgen.generate import generate
from causalgen.io import VariableInfo, open_dataset, write_arrays
from causalgen.scenes.files import load_spec

ROOT = Path(__file__).parents[2]


def reference_labels(folder: Path) -> dict[str, list[int]]:
    """What the reference loader does: drop the first '_' field of the name, int() the rest."""
    return {name: list(map(int, name[:-4].split("_")[1:])) for name in os.listdir(folder)}


def arrays_file(path: Path, scene: str, names: list[str], labels: np.ndarray, size: int = 32,
                lows: list[float] | None = None, highs: list[float] | None = None) -> Path:
    n = len(labels)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    lows = lows or [-np.inf] * len(names)
    highs = highs or [np.inf] * len(names)
    variables = [VariableInfo(nm, "", lo, hi) for nm, lo, hi in zip(names, lows, highs, strict=True)]
    split = (np.arange(n) % 4 == 3).astype(np.uint8)
    return write_arrays(path, images, labels, variables, np.zeros((len(names),) * 2, np.int8),
                        split=split, scene=scene)


def test_pendulum_names_follow_the_reference_encoding(tmp_path: Path) -> None:
    labels = np.array([[-36.0, 54.0, 3.0, 2.5], [38.7, 132.3, 12.99, 19.6],
                       [0.44, 90.46, 7.5, -0.7], [-0.46, 89.9, 4.0, 10.0]], dtype=np.float32)
    src = arrays_file(tmp_path / "p.h5", "pendulum-v1",
                      ["pendulum_angle", "light_angle", "shadow_length", "shadow_position"], labels)
    out = export(src, tmp_path / "out")
    got = {**reference_labels(out / "train"), **reference_labels(out / "test")}
    by_index = {int(name.split("_")[0]): value for name, value in got.items()}
    assert by_index == {0: [-40, 60, 3, 2], 1: [43, 147, 12, 19], 2: [0, 101, 7, 0],
                        3: [-1, 100, 4, 10]}
    assert len(os.listdir(out / "test")) == 1 and "3_-1_100_4_10.png" in os.listdir(out / "test")
    info = json.loads((out / "encoding.json").read_text())
    assert info["labels"][0]["rule"].startswith("round(pendulum_angle / 0.9)")


def test_pendulum_export_of_a_generated_file(pendulum_file: Path, tmp_path: Path) -> None:
    out = export(pendulum_file, tmp_path / "folders")
    with open_dataset(pendulum_file) as ds:
        labels = ds.labels.astype(np.float64)
        split = ds.split
        n = ds.n
    train, test = reference_labels(out / "train"), reference_labels(out / "test")
    assert len(train) + len(test) == n and len(test) == int(split.sum())
    for name, ints in {**train, **test}.items():
        k = int(name.split("_")[0])
        assert ints == [round(labels[k, 0] / 0.9), round(labels[k, 1] / 0.9),
                        int(labels[k, 2]), int(labels[k, 3])]
        assert (name in test) == bool(split[k])
    ints = np.array(list(train.values()))
    assert ints[:, 0].min() >= -40 and ints[:, 0].max() <= 43  # the reference's grid of i
    assert ints[:, 1].min() >= 60 and ints[:, 1].max() <= 147  # and of j
    img = Image.open(out / "train" / next(iter(train)))
    assert img.mode == "RGBA" and img.size == (96, 96)  # resized from 32 px
    assert np.all(np.asarray(img)[..., 3] == 255)


def test_flow_labels_in_the_reference_order_and_units(tmp_path: Path) -> None:
    # flow-v1 columns: ball_size, water_height, hole_height, water_flow (cm)
    labels = np.array([[0.5, 3.02, 6.0, 5.16], [3.49, 16.7, 14.99, 19.86]], dtype=np.float32)
    src = arrays_file(tmp_path / "f.h5", "flow-v1",
                      ["ball_size", "water_height", "hole_height", "water_flow"], labels)
    out = export(src, tmp_path / "out")
    got = {int(k.split("_")[0]): v for k, v in reference_labels(out / "train").items()}
    # k = int(10 b), int(h / 3), int(10 flow / 3), q = int(hole): the reference's a_k_h_flow_q
    assert got == {0: [5, 1, 17, 6], 1: [34, 5, 66, 14]}


def test_flow_reference_spec_exports_the_reference_grids(tmp_path: Path) -> None:
    loaded = load_spec(ROOT / "data/scenes/flow-reference.toml")
    src = generate(loaded.scene_id, tmp_path / "f.h5", n=400, size=32, workers=1, scm=loaded.scm)
    out = export(src, tmp_path / "out")
    ints = np.array([*reference_labels(out / "train").values(),
                     *reference_labels(out / "test").values()])
    assert ints[:, 0].min() >= 5 and ints[:, 0].max() <= 34  # k in [5, 35)
    assert set(ints[:, 1]) <= {1, 2, 3, 4, 5}  # int(h), h = r^3 + m / 10
    assert ints[:, 3].min() >= 6 and ints[:, 3].max() <= 14  # q in [6, 15)


def test_other_scenes_scale_onto_0_999(tmp_path: Path) -> None:
    labels = np.array([[0.0, 5.0], [10.0, 7.0], [2.5, 6.0]], dtype=np.float32)
    src = arrays_file(tmp_path / "c.h5", "custom/x", ["a", "b"], labels, lows=[0.0, -np.inf],
                      highs=[10.0, np.inf])
    out = export(src, tmp_path / "out", variables=["b", "a"])
    got = {int(k.split("_")[0]): v for k, v in reference_labels(out / "train").items()}
    assert got == {0: [0, 0], 1: [999, 999], 2: [500, 250]}  # b: its values' range; a: [0, 10]
    rules = [lab["rule"] for lab in json.loads((out / "encoding.json").read_text())["labels"]]
    assert "values in the file" in rules[0] and "renderable range" in rules[1]


def test_npz_export(pendulum_file: Path, tmp_path: Path) -> None:
    out = export(pendulum_file, tmp_path / "p.npz", "npz")
    with np.load(out, allow_pickle=False) as d, open_dataset(pendulum_file) as ds:
        assert np.array_equal(d["imgs"], ds.images[...])  # dSprites' keys
        assert np.array_equal(d["latents_values"], ds.labels)
        assert np.array_equal(d["noise"], ds.noise)
        assert np.array_equal(d["split"], ds.split)
        assert list(d["latents_names"]) == ds.variable_names
        assert np.array_equal(d["adjacency"], ds.adjacency)
        assert str(d["scene"]) == "pendulum-v1"
        assert np.array_equal(d["cf_imgs"], ds.counterfactual.images[...])
        assert np.array_equal(d["cf_latents_values"], ds.counterfactual.labels)
    assert not list(tmp_path.glob(".*partial"))


def test_existing_output_refused_and_overwrite_replaces(pendulum_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()  # an empty directory is fine
    export(pendulum_file, out, variables=["light_angle"])
    with pytest.raises(DatasetError, match="--overwrite"):
        export(pendulum_file, out)
    export(pendulum_file, out, overwrite=True)
    name = os.listdir(out / "train")[0]
    assert len(name[:-4].split("_")) == 5
    (tmp_path / "f.npz").write_text("x")
    with pytest.raises(DatasetError, match="--overwrite"):
        export(pendulum_file, tmp_path / "f.npz", "npz")
    with pytest.raises(DatasetError, match="did you mean 'light_angle'"):
        export(pendulum_file, tmp_path / "o2", variables=["light_angel"])
    with pytest.raises(DatasetError, match="does not exist"):
        export(pendulum_file, tmp_path / "missing" / "o3")


def test_an_output_that_is_or_holds_the_dataset_is_refused(pendulum_file: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # --out FILE.h5 --overwrite replaced the dataset by its own export; --out DIR holding it
    # replaced the folder and the dataset with it; --out . failed with a ValueError traceback
    copy = tmp_path / "data" / "p.h5"
    copy.parent.mkdir()
    copy.write_bytes(pendulum_file.read_bytes())
    for out, fmt, why in [(copy, "npz", "is the dataset"), (copy.parent, "hf", "holds the dataset"),
                          (tmp_path, "causalvae-folders", "holds the dataset")]:
        with pytest.raises(DatasetError, match=f"--out .* {why} being exported"):
            export(copy, out, fmt, overwrite=True)
    assert copy.read_bytes() == pendulum_file.read_bytes()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(DatasetError, match=r"--out \. names no new file or folder"):
        export(copy, ".", overwrite=True)


def test_an_interrupted_export_leaves_nothing(pendulum_file: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = Image.Image.save

    def failing_save(self: Image.Image, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) > 50:
            raise KeyboardInterrupt
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        export(pendulum_file, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary directory
    # an existing export survives a failed --overwrite
    monkeypatch.setattr(Image.Image, "save", real)
    export(pendulum_file, tmp_path / "out")
    before = sorted(os.listdir(tmp_path / "out" / "train"))
    calls.clear()
    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        export(pendulum_file, tmp_path / "out", overwrite=True)
    assert sorted(os.listdir(tmp_path / "out" / "train")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_unknown_format(pendulum_file: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="did you mean 'npz'"):
        export_module.export(pendulum_file, tmp_path / "x", "npy")


def test_folders_labels_csv_has_exact_values_and_imports_back(tmp_path: Path) -> None:
    """labels.csv beside the folders: every image once, its split, the exact float labels of the
    exported columns; `causalgen import --labels ... --columns` reads a subset back unchanged."""
    from causalgen.external import import_images

    rng = np.random.default_rng(3)
    labels = (rng.normal(size=(12, 3)) * [1.0, 10.0, 0.01]).astype(np.float32)
    src = arrays_file(tmp_path / "c.h5", "custom/x", ["h", "a", "b"], labels)
    out = export(src, tmp_path / "out", variables=["a", "b", "h"], size=32)
    rows = (out / "labels.csv").read_text().splitlines()
    assert rows[0] == "image,split,a,b,h" and len(rows) == 13
    parts = [r.split(",") for r in rows[1:]]
    assert all((out / p[0]).is_file() and p[0].startswith(p[1] + "/") for p in parts)
    assert [p[1] for p in parts] == ["test" if k % 4 == 3 else "train" for k in range(12)]
    got = np.array([[float(v) for v in p[2:]] for p in parts], dtype=np.float32)
    np.testing.assert_array_equal(got, labels[:, [1, 2, 0]])
    back = import_images(out, tmp_path / "back.h5", labels=out / "labels.csv",
                         columns=["a", "b"], size=32)
    ds = open_dataset(back.path)
    assert ds.variable_names == ["a", "b"] and ds.n == 12
    order = np.argsort(ds.labels[:, 0])
    np.testing.assert_array_equal(ds.labels[order], labels[np.argsort(labels[:, 1])][:, [1, 2]])
