"""Exports loaded back by their own libraries: numpy (npz), datasets (hf), webdataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from causalgen.export import export
from causalgen.external import import_images
from causalgen.external.sample import write_celeba_like
from causalgen.io import open_dataset


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fmt")
    celeba = write_celeba_like(root / "celeba", n=40, seed=3)
    graph = root / "g.toml"
    graph.write_text('edges = ["Smiling -> Mouth_Slightly_Open"]\n')
    return import_images(celeba, root / "c.h5", fmt="celeba", graph=graph, size=16, workers=1,
                         columns=["Smiling", "Mouth_Slightly_Open", "Male"]).path


def test_npz_dsprites_keys_streamed(small: Path, tmp_path: Path, monkeypatch) -> None:
    import causalgen.formats as F

    monkeypatch.setattr(F, "CHUNK", 7)  # several chunks, the last one short
    out = export(small, tmp_path / "c.npz", "npz")
    with np.load(out) as d, open_dataset(small) as ds:
        np.testing.assert_array_equal(d["imgs"], ds.images[...])
        np.testing.assert_array_equal(d["latents_values"], ds.labels)
        assert d["latents_names"].tolist() == ds.variable_names
        np.testing.assert_array_equal(d["adjacency"], ds.adjacency)
        assert d["adjacency"][0, 1] == 1 and str(d["scene"]) == "external/celeba"
        np.testing.assert_array_equal(d["split"], ds.split)


def test_hf_round_trip(small: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    out = export(small, tmp_path / "hf", "hf")
    dd = datasets.load_from_disk(str(out))
    with open_dataset(small) as ds:
        assert set(dd) == {"train", "test"}
        assert len(dd["train"]) == int((ds.split == 0).sum()) and len(dd["test"]) == int(ds.split.sum())
        for split in ("train", "test"):
            part = dd[split].with_format("numpy")
            rows = part["index"]
            np.testing.assert_array_equal(np.stack(list(part["image"])), ds.images[np.sort(rows)])
            for j, name in enumerate(ds.variable_names):
                np.testing.assert_array_equal(part[name], ds.labels[rows, j])
        meta = json.loads(dd["train"].info.description)
        assert meta["edges"] == ["Smiling -> Mouth_Slightly_Open"]
        assert meta["adjacency"] == ds.adjacency.tolist()


def test_webdataset_round_trip(small: Path, tmp_path: Path) -> None:
    wds = pytest.importorskip("webdataset")
    out = export(small, tmp_path / "wds", "webdataset", shard_size=15)
    meta = json.loads((out / "dataset.json").read_text())
    assert len(meta["shards"]["train"]) == 3  # 36 train samples in shards of 15
    with open_dataset(small) as ds:
        seen = []
        for split in ("train", "test"):
            urls = [str(out / s) for s in meta["shards"][split]]
            for sample in wds.WebDataset(urls, shardshuffle=False).decode("rgb8"):
                row = sample["json"]["index"]
                seen.append(row)
                np.testing.assert_array_equal(sample["png"], ds.images[row])
                assert sample["json"]["split"] == ("test" if ds.split[row] else "train")
                assert sample["json"]["labels"] == dict(zip(ds.variable_names,
                                                            ds.labels[row].tolist(), strict=True))
        assert sorted(seen) == list(range(ds.n))
        assert meta["adjacency"] == ds.adjacency.tolist()
