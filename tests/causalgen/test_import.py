"""causalgen import: CelebA layout, CSV folders and listings, declared graphs, bad input."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from causalgen import scenes
from causalgen.errors import ImportDataError, NoGeneratorError, SceneNotFoundError
from causalgen.external import import_images
from causalgen.external.decode import load_image
from causalgen.external.graph import find_cycle
from causalgen.external.sample import CELEBA_ATTRIBUTES, write_celeba_like
from causalgen.io import open_dataset
from causalgen.io import schema as S
from cli.causalgen import main

COLS = ["Smiling", "Mouth_Slightly_Open", "Male", "Eyeglasses"]


@pytest.fixture(scope="module")
def celeba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_celeba_like(tmp_path_factory.mktemp("celeba"), n=20, seed=1)


def _attr_file(root: Path) -> tuple[list[str], np.ndarray]:
    lines = (root / "list_attr_celeba.txt").read_text().splitlines()
    rows = [ln.split() for ln in lines[2:]]
    return [r[0] for r in rows], np.array([[int(v) for v in r[1:]] for r in rows])


def _graph(tmp: Path, text: str, name: str = "g.toml") -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_celeba_import_labels_split_graph_and_pixels(celeba: Path, tmp_path: Path) -> None:
    g = _graph(tmp_path, 'edges = ["Smiling -> Mouth_Slightly_Open", "Male -> Eyeglasses"]\n')
    r = import_images(celeba, tmp_path / "c.h5", fmt="celeba", columns=COLS, graph=g, crop=148,
                      size=32, workers=1)
    files, attrs = _attr_file(celeba)
    assert r.n == 20 and r.graph_declared and r.binary == COLS
    with open_dataset(r.path) as ds:
        assert ds.scene == "external/celeba"
        assert ds.variable_names == COLS
        assert [v.unit for v in ds.variables] == ["binary"] * 4
        want = (attrs[:, [CELEBA_ATTRIBUTES.index(c) for c in COLS]] + 1) / 2  # -1 -> 0, 1 -> 1
        np.testing.assert_array_equal(ds.labels, want.astype(np.float32))
        # list_eval_partition: 16 train, 2 valid (-> train), 2 test
        np.testing.assert_array_equal(ds.split, [0] * 18 + [1] * 2)
        assert ds.adjacency.tolist() == [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
        assert ds.images.shape == (20, 32, 32, 3)
        assert [s.decode() if isinstance(s, bytes) else s for s in ds.file[S.SOURCE_NAMES]] == files
        assert np.isnan(ds.noise).all() and ds.spec_json == "{}"
        img = ds.images[3]
        with pytest.raises(NoGeneratorError, match="imported"):
            scenes.from_dataset(ds)
        with pytest.raises(SceneNotFoundError):  # callers skipping missing scenes skip it too
            scenes.from_dataset(ds)
    path = celeba / "img_align_celeba" / files[3]
    np.testing.assert_array_equal(img, load_image(str(path), 32, 148))
    # draft-mode decoding stays close to a full decode, centre crop and resize
    full = Image.open(path).convert("RGB").crop((15, 35, 163, 183)).resize((32, 32), Image.BILINEAR)
    assert np.abs(img.astype(int) - np.asarray(full, int)).mean() < 6


def test_parallel_import_is_byte_identical(celeba: Path, tmp_path: Path) -> None:
    one = import_images(celeba, tmp_path / "1.h5", fmt="celeba", size=16, workers=1)
    two = import_images(celeba, tmp_path / "2.h5", fmt="celeba", size=16, workers=2)
    with open_dataset(one.path) as a, open_dataset(two.path) as b:
        np.testing.assert_array_equal(a.images[...], b.images[...])
        np.testing.assert_array_equal(a.labels, b.labels)
        assert a.variable_names == list(CELEBA_ATTRIBUTES) and a.adjacency.sum() == 0


def _folder(tmp: Path, n: int = 10) -> tuple[Path, Path]:
    """A folder of PNGs (RGBA and grey among them) and a labels CSV with a continuous column."""
    folder = tmp / "imgs"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        mode = ("RGB", "RGBA", "L")[i % 3]
        arr = rng.integers(0, 255, (40, 50, len(mode) if mode != "L" else 1), dtype=np.uint8)
        name = f"sub/im{i}.png" if i % 2 else f"im{i}.png"
        Image.fromarray(arr.squeeze(-1) if mode == "L" else arr, mode).save(folder / name)
        rows.append([name, f"{i * 0.5}", str(i % 2), "x"])
    labels = tmp / "labels.csv"
    with open(labels, "w", newline="") as f:
        csv.writer(f).writerows([["filename", "size", "flag", "comment"], *rows])
    return folder, labels


def test_folder_with_csv_labels(tmp_path: Path) -> None:
    folder, labels = _folder(tmp_path)
    r = import_images(folder, tmp_path / "f.h5", labels=labels, size=24, test_fraction=0.3,
                      workers=1)
    with open_dataset(r.path) as ds:
        assert ds.scene == "external/imgs" and ds.variable_names == ["size", "flag"]  # comment: text
        np.testing.assert_allclose(ds.labels[:, 0], np.arange(10) * 0.5)
        assert [v.unit for v in ds.variables] == ["", "binary"]
        assert (ds.variables[0].low, ds.variables[0].high) == (0.0, 4.5)
        assert int(ds.split.sum()) == 3
    # a CSV listing the paths, labels in the same file; by-name graph as an adjacency CSV
    listing = tmp_path / "listing.csv"
    listing.write_text("path,size,flag\n" + "".join(
        f"imgs/{n},{s},{fl}\n" for n, s, fl in
        (line.split(",")[:3] for line in labels.read_text().splitlines()[1:])))
    adj = _graph(tmp_path, ",size,flag\nsize,0,1\nflag,0,0\n", "adj.csv")
    r2 = import_images(listing, tmp_path / "l.h5", graph=adj, size=24, workers=1)
    with open_dataset(r2.path) as ds, open_dataset(r.path) as first:
        assert ds.scene == "external/listing" and ds.adjacency.tolist() == [[0, 1], [0, 0]]
        np.testing.assert_array_equal(ds.images[...], first.images[...])


def _refuse_labels(tmp: Path, edit: Callable[[list[str]], list[str]], match: str) -> None:
    """Import :func:`_folder`'s images with ``edit(lines of its labels CSV)`` as the labels: it
    must be refused with ``match`` and leave no file."""
    folder, labels = _folder(tmp)
    bad = tmp / "bad.csv"
    bad.write_text("\n".join(edit(labels.read_text().splitlines())) + "\n")
    with pytest.raises(ImportDataError, match=match):
        import_images(folder, tmp / "bad.h5", labels=bad, workers=1)
    assert not (tmp / "bad.h5").exists()


def test_unnamed_label_column_refused(tmp_path: Path) -> None:
    # a numeric column with an empty header cell became a variable named '' (blank in info, in
    # evaluation and figures)
    _refuse_labels(tmp_path, lambda lines: ["filename,,flag,comment", *lines[1:]],
                   "column 2 holds numbers but has no name")


def test_two_rows_naming_one_image_refused(tmp_path: Path) -> None:
    # the image was imported twice with two sets of labels, silently
    _refuse_labels(tmp_path, lambda lines: [*lines[:3], lines[1].replace("0.0", "7.0")],
                   r"label rows 1 \(im0.png\) and 3 \(im0.png\) name the same image .*give "
                   "each image one row")


def test_unknown_column_did_you_mean(celeba: Path, tmp_path: Path) -> None:
    with pytest.raises(ImportDataError, match="did you mean 'Smiling'"):
        import_images(celeba, tmp_path / "x.h5", fmt="celeba", columns=["Smilling"])
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("text, message", [
    ('edges = ["Smiling -> Mael"]', "'Mael'.*did you mean 'Male'"),
    ('edges = ["Smiling -> Male", "Male -> Eyeglasses", "Eyeglasses -> Smiling"]',
     "cycle: .*Smiling -> Male -> Eyeglasses -> Smiling|cycle"),
    ('edges = ["Smiling => Male"]', "write edges as"),
    ('edges = ["Smiling -> Wearing_Hat"]', "add it to --columns"),
])
def test_bad_graph_refused(celeba: Path, tmp_path: Path, text: str, message: str) -> None:
    g = _graph(tmp_path, text + "\n")
    with pytest.raises(ImportDataError, match=message):
        import_images(celeba, tmp_path / "x.h5", fmt="celeba", columns=COLS, graph=g)
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("data, message", [
    (b"edges = [\"a -> b\"]\x00\n", "binary file .* not a TOML graph file"),
    (b"edges = [\"caf\xe9 -> b\"]\n", "not UTF-8 text .* save the graph file as UTF-8"),
])
def test_an_unreadable_graph_file_is_named_a_graph(celeba: Path, tmp_path: Path, data: bytes,
                                                   message: str) -> None:
    # the graph reader shares the spec files' checks, whose messages called it a spec
    g = tmp_path / "g.toml"
    g.write_bytes(data)
    with pytest.raises(ImportDataError, match=message):
        import_images(celeba, tmp_path / "x.h5", fmt="celeba", columns=COLS, graph=g)


def test_find_cycle() -> None:
    adj = np.zeros((3, 3), np.int8)
    adj[0, 1] = adj[1, 2] = 1
    assert find_cycle(adj, "abc") is None
    adj[2, 0] = 1
    cyc = find_cycle(adj, "abc")
    assert cyc is not None and cyc[0] == cyc[-1] and sorted(cyc[:-1]) == ["a", "b", "c"]


def _broken(celeba: Path, tmp: Path) -> Path:
    root = tmp / "broken"
    (root / "img_align_celeba").mkdir(parents=True)
    for f in ("list_attr_celeba.txt", "list_eval_partition.txt"):
        (root / f).write_bytes((celeba / f).read_bytes())
    for p in sorted((celeba / "img_align_celeba").iterdir()):
        (root / "img_align_celeba" / p.name).write_bytes(p.read_bytes())
    (root / "img_align_celeba" / "000004.jpg").write_bytes(b"not a jpeg")
    data = (root / "img_align_celeba" / "000007.jpg").read_bytes()
    (root / "img_align_celeba" / "000007.jpg").write_bytes(data[: len(data) // 3])  # truncated
    return root


def test_bad_images_named_counted_refused_or_skipped(celeba: Path, tmp_path: Path) -> None:
    root = _broken(celeba, tmp_path)
    out = tmp_path / "b.h5"
    with pytest.raises(ImportDataError, match=r"2 of 20 images failed.*000004\.jpg.*000007\.jpg"):
        import_images(root, out, fmt="celeba", columns=COLS, size=16, workers=2)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    r = import_images(root, out, fmt="celeba", columns=COLS, size=16, skip_bad=True, workers=2)
    assert r.n == 18 and [f for f, _ in r.skipped] == ["000004.jpg", "000007.jpg"]
    files, attrs = _attr_file(celeba)
    keep = [i for i, f in enumerate(files) if f not in ("000004.jpg", "000007.jpg")]
    with open_dataset(out) as ds:
        assert ds.n == 18 and ds.labels.shape == (18, 4) and len(ds.file[S.SOURCE_NAMES]) == 18
        np.testing.assert_array_equal(ds.labels[:, 2],
                                      (attrs[keep, CELEBA_ATTRIBUTES.index("Male")] + 1) / 2)
        assert '"count": 2' in ds.file.attrs[S.ATTR_SOURCE]


def test_rows_without_image_refused_or_skipped(celeba: Path, tmp_path: Path) -> None:
    root = _broken(celeba, tmp_path)
    (root / "img_align_celeba" / "000004.jpg").unlink()
    (root / "img_align_celeba" / "000007.jpg").unlink()
    with pytest.raises(ImportDataError, match=r"2 of 20 label rows match no image in .*: 000004\.jpg, 000007\.jpg"):
        import_images(root, tmp_path / "m.h5", fmt="celeba", columns=COLS)
    r = import_images(root, tmp_path / "m.h5", fmt="celeba", columns=COLS, skip_bad=True, size=16)
    assert r.n == 18


def test_cli_import_and_errors(celeba: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli.h5"
    res = runner.invoke(main, ["import", str(celeba), "--format", "celeba", "--columns",
                               ",".join(COLS), "--size", "16", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "graph: none declared" in res.output and "train 18 / test 2" in res.output
    res = runner.invoke(main, ["import", str(celeba), "--format", "celeba", "--columns", "Smilng",
                               "--out", str(tmp_path / "e.h5")])
    assert res.exit_code == 2 and "did you mean 'Smiling'" in res.output
    res = runner.invoke(main, ["import", str(tmp_path / "nowhere"), "--out", str(tmp_path / "e.h5")])
    assert res.exit_code == 2 and "no such folder" in res.output
    assert not (tmp_path / "e.h5").exists()


@pytest.mark.parametrize("first", ["im0.png,0.0,0,x", "a,0.5,1,x"])
def test_csv_without_header_refused(tmp_path: Path, first: str) -> None:
    # without a header line, the first data row became the column names: the label 'size' was
    # called '0.0' and image im0.png was silently dropped
    _refuse_labels(tmp_path, lambda lines: [first, *lines[2:]],
                   "looks like a data row, not a header")


def test_listing_csv_without_header_refused(tmp_path: Path) -> None:
    # a CSV listing the image paths, labels in another file: its first path became the header
    # and that image was dropped
    _, labels = _folder(tmp_path)
    listing = tmp_path / "listing.csv"
    listing.write_text("".join(f"imgs/{line.split(',')[0]}\n"
                               for line in labels.read_text().splitlines()[1:]))
    with pytest.raises(ImportDataError, match="looks like a data row, not a header"):
        import_images(listing, tmp_path / "l.h5", labels=labels, workers=1)
    assert not (tmp_path / "l.h5").exists()


def test_integer_column_names_are_a_header(tmp_path: Path) -> None:
    # pandas writes integer column names ("filename,0,1") for unnamed frames: still a header
    folder, labels = _folder(tmp_path)
    lines = labels.read_text().splitlines()
    numbered = tmp_path / "numbered.csv"
    numbered.write_text("\n".join(["filename,0,1,comment", *lines[1:]]) + "\n")
    r = import_images(folder, tmp_path / "n.h5", labels=numbered, workers=1)
    with open_dataset(r.path) as ds:
        assert [v.name for v in ds.variables] == ["0", "1"] and ds.n == 10
