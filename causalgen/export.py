"""Export a causalgen dataset to other layouts: CausalVAE's folders of PNGs, or one ``.npz``.

``causalvae-folders`` writes the layout the CausalVAE reference loaders read: ``train/`` and
``test/`` (the file's split) of 96 x 96 RGBA PNGs (alpha 255; images of another size are resized
with Pillow's Lanczos filter) named ``<index>_<l1>_..._<ln>.png``. The loaders drop the first
``_`` field and read the rest as integers, so the sample's index there keeps names unique, and
the labels ``l1..ln`` are integers in the reference's encoding (:func:`encodings`):

- ``pendulum-v1``: angles in the reference's grid units of 0.9 degrees (``theta = i * pi / 200``),
  ``round(angle / 0.9)``; shadow length and position truncated toward zero, as ``int()`` does;
- ``flow-v1``: in the reference's label order (ball, water height, flow, hole), lengths converted
  at one reference unit = 3 cm (the scale of ``data/scenes/flow-reference.toml``) and truncated
  as the reference's ``int()``: ``k = int(10 * ball_size)``, ``int(water_height / 3)``,
  ``int(10 * water_flow / 3)``, ``q = int(hole_height)``, see :data:`FLOW`;
- any other scene: each variable's range mapped linearly onto 0..999 and rounded; the range is
  its renderable range when finite, else the smallest and largest value in the file.

An ``encoding.json`` beside the two folders records the encoding of every label, and a
``labels.csv`` (``image, split, <variables>``) the exact values, so that ``causalgen import
FOLDER --labels FOLDER/labels.csv [--columns ...]`` reads an export back (e.g. without a
latent variable's column). ``npz``
(dSprites-like keys; a temporal file keeps its time axis), ``hf`` (a HuggingFace ``datasets``
directory) and ``webdataset`` (tar shards of PNG + JSON) are written by :mod:`causalgen.formats`,
streamed with flat memory.

All write to a temporary sibling and rename it into place when complete: an interrupted export
leaves no output that looks finished. An existing non-empty output is refused without
``overwrite``; with it, a directory is swapped atomically (or, where the kernel cannot, an
export killed between its two renames is repaired by the next one: ``--out`` never stays
missing). Two exports to one ``--out`` at once: the second fails (:mod:`causalgen.io.safefs`).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from causalgen import formats
from causalgen.errors import DatasetError
from causalgen.io import open_dataset
from causalgen.io.reader import Dataset
from causalgen.io.safefs import OutputClaim, remove_stale, swap_into_place
from causalgen.scm.spec import did_you_mean

FORMATS = ("causalvae-folders", "npz", "hf", "webdataset")
REFERENCE_SIZE = 96
CHUNK = 256  # images read and written at a time
LINEAR_MAX = 999


@dataclass(frozen=True)
class LabelEncoding:
    """``integer = rounding(offset + scale * value)``, ``rounding`` "round" or "trunc"."""

    name: str
    scale: float
    offset: float
    rounding: str
    rule: str  # the rule in words, for encoding.json and the docs

    def encode(self, values: np.ndarray) -> np.ndarray:
        x = self.offset + self.scale * np.asarray(values, dtype=np.float64)
        return (np.rint(x) if self.rounding == "round" else np.trunc(x)).astype(np.int64)


def _linear(name: str, low: float, high: float, lo_int: float, hi_int: float, rounding: str,
            rule: str) -> LabelEncoding:
    """Maps [low, high] linearly onto [lo_int, hi_int]."""
    scale = (hi_int - lo_int) / (high - low)
    return LabelEncoding(name, scale, lo_int - low * scale, rounding, rule)


PENDULUM = {
    "pendulum_angle": LabelEncoding("pendulum_angle", 1 / 0.9, 0.0, "round",
                                    "round(pendulum_angle / 0.9): the reference's i, theta = i*pi/200"),
    "light_angle": LabelEncoding("light_angle", 1 / 0.9, 0.0, "round",
                                 "round(light_angle / 0.9): the reference's j, phi = j*pi/200"),
    "shadow_length": LabelEncoding("shadow_length", 1.0, 0.0, "trunc",
                                   "int(shadow_length), truncated as the reference does"),
    "shadow_position": LabelEncoding("shadow_position", 1.0, 0.0, "trunc",
                                     "int(shadow_position), truncated as the reference does"),
}
# flow-v1 is in cm; the reference's units are arbitrary. One reference unit is taken as 3 cm, the
# scale data/scenes/flow-reference.toml uses to write the reference's equations over flow-v1: a
# ball of radius r = k/30 units is k/10 cm, a hole at d = q/3 units is q cm, the water height h and
# the jet's flow are 3 h and 3 flow cm. The reference's file names hold k, int(h), int(10 * flow)
# and q, in that order. All four are truncated here: for the continuous values of the reference
# spec (k/10 in [0.5, 3.5) cm, q in [6, 15) cm) that gives exactly the reference's integer grids.
FLOW = {
    "ball_size": LabelEncoding("ball_size", 10.0, 0.0, "trunc",
                               "int(10 * ball_size): the reference's k, radius k/30 units = "
                               "k/10 cm"),
    "water_height": LabelEncoding("water_height", 1 / 3, 0.0, "trunc",
                                  "int(water_height / 3): the reference's int(h), h in units "
                                  "of 3 cm"),
    "water_flow": LabelEncoding("water_flow", 10 / 3, 0.0, "trunc",
                                "int(10 * water_flow / 3): the reference's int(10 * flow), flow in "
                                "units of 3 cm"),
    "hole_height": LabelEncoding("hole_height", 1.0, 0.0, "trunc",
                                 "int(hole_height): the reference's q, hole at q/3 units = q cm"),
}
FLOW_ORDER = ("ball_size", "water_height", "water_flow", "hole_height")  # the reference's order


def encodings(ds: Dataset, names: Sequence[str]) -> list[LabelEncoding]:
    """The integer encoding of each of ``names`` (variables of ``ds``) for file names."""
    table = {"pendulum-v1": PENDULUM, "flow-v1": FLOW}.get(ds.scene_entry, {})
    out = []
    for name in names:
        if name in table:
            out.append(table[name])
            continue
        i = ds.variable_names.index(name)
        v = ds.variables[i]
        low, high, source = v.low, v.high, "renderable range"
        if not (np.isfinite(low) and np.isfinite(high)):
            col = ds.labels[:, i].astype(np.float64)
            low, high, source = float(col.min()), float(col.max()), "range of the values in the file"
        if high <= low:  # a constant: every label 0
            out.append(LabelEncoding(name, 0.0, 0.0, "round", f"{name} is constant: 0"))
            continue
        out.append(_linear(name, low, high, 0, LINEAR_MAX, "round",
                           f"round((value - {low:g}) / ({high:g} - {low:g}) * {LINEAR_MAX}), "
                           f"the {source} onto 0..{LINEAR_MAX}"))
    return out


def _columns(ds: Dataset, variables: Sequence[str] | None) -> list[str]:
    if variables is None:
        if ds.scene_entry == "flow-v1" and set(FLOW_ORDER) <= set(ds.variable_names):
            return list(FLOW_ORDER)
        return list(ds.variable_names)
    for name in variables:
        if name not in ds.variable_names:
            raise DatasetError(f"{ds.path} has no variable {name!r}"
                               f"{did_you_mean(name, ds.variable_names)}; its variables are "
                               f"{', '.join(ds.variable_names)}.")
    if len(set(variables)) != len(variables) or not variables:
        raise DatasetError("--variables must name each variable at most once, and at least one.")
    return list(variables)


def _prepare(out: Path, overwrite: bool, directory: bool) -> Path:
    """Check ``out`` may be written; return the temporary sibling to write first."""
    if out.exists():
        if directory and out.is_dir() and not any(out.iterdir()):
            pass
        elif not overwrite:
            what = "a non-empty directory" if out.is_dir() else "a file"
            raise DatasetError(f"{out} already exists ({what}); pass --overwrite to replace it.")
        elif out.is_dir() != directory:
            raise DatasetError(f"{out} is a {'directory' if out.is_dir() else 'file'}; "
                               f"the {'folders' if directory else 'npz'} export needs "
                               f"{'a directory' if directory else 'a file name'}.")
    if not out.parent.exists():
        raise DatasetError(f"the directory {out.parent} does not exist; create it or choose "
                           "another --out.")
    return out.with_name(f".{out.name}.{os.getpid()}.partial")


def _commit(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` into place, replacing ``out`` only now."""
    if out.is_dir():
        swap_into_place(tmp, out)  # atomic where the kernel can; repaired on the next run else
    else:
        os.replace(tmp, out)


def _remove(tmp: Path) -> None:
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


def export(path: str | os.PathLike, out: str | os.PathLike, fmt: str = "causalvae-folders", *,
           variables: Sequence[str] | None = None, size: int = REFERENCE_SIZE,
           overwrite: bool = False, progress: Callable[[int], None] | None = None,
           shard_size: int = formats.SHARD_SIZE) -> Path:
    """Export the dataset at ``path`` to ``out`` in format ``fmt`` (see the module docstring).

    ``variables`` picks and orders the label columns (default: all, in the file's order; for
    flow-v1 the reference's order). Returns ``out``.
    """
    if fmt not in FORMATS:
        raise DatasetError(f"unknown export format {fmt!r}{did_you_mean(fmt, FORMATS)}; "
                           f"formats: {', '.join(FORMATS)}.")
    out = Path(out)
    directory = fmt != "npz"
    src, dst = Path(path).resolve(), out.resolve()
    clash = ("is the dataset being exported" if src == dst else
             "holds the dataset being exported" if src.is_relative_to(dst) else
             "names no new file or folder" if out.name in ("", ".", "..") else None)
    if clash:  # --overwrite would replace the dataset itself, or a folder holding it
        raise DatasetError(f"--out {out} {clash}; the export replaces --out as a whole, so give "
                           "it a name of its own.")
    with open_dataset(path) as ds:
        names = _columns(ds, variables)
        if ds.steps is not None and fmt != "npz":
            raise DatasetError(f"{path} holds sequences ({ds.steps} steps); {fmt} holds still "
                               "images: export it with --format npz, which keeps the time axis.")
        _prepare(out, overwrite, directory)  # the user's mistakes first, before any claim
        with OutputClaim(out):  # a second export to the same --out fails at once
            remove_stale(out)  # an export killed mid-swap: its moved-aside --out goes back
            tmp = _prepare(out, overwrite, directory)
            try:
                idx = [ds.variable_names.index(n) for n in names]
                if fmt == "npz":
                    formats.write_npz(ds, idx, tmp, progress)
                elif fmt == "hf":
                    formats.write_hf(ds, idx, tmp, progress)
                elif fmt == "webdataset":
                    formats.write_webdataset(ds, idx, tmp, progress, shard_size=shard_size)
                else:
                    _folders(ds, names, tmp, size, progress)
                _commit(tmp, out)
            except BaseException:
                _remove(tmp)
                raise
    return out


def _folders(ds: Dataset, names: list[str], tmp: Path, size: int,
             progress: Callable[[int], None] | None) -> None:
    idx = [ds.variable_names.index(n) for n in names]
    codes = encodings(ds, names)
    ints = np.stack([c.encode(ds.labels[:, i]) for c, i in zip(codes, idx, strict=True)], 1)
    tmp.mkdir()
    folders = {0: tmp / "train", 1: tmp / "test"}
    for folder in folders.values():
        folder.mkdir()

    def file_name(k: int) -> str:
        return "_".join([str(k), *map(str, ints[k].tolist())]) + ".png"

    def save(k: int, image: np.ndarray) -> None:
        img = Image.fromarray(image, "RGB")
        if img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.LANCZOS)
        img.convert("RGBA").save(folders[int(ds.split[k] != 0)] / file_name(k), compress_level=1)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for start in range(0, ds.n, CHUNK):  # Pillow's encoder releases the GIL: threads help
            block = ds.images[start:start + CHUNK]
            list(pool.map(save, range(start, start + len(block)), block))
            if progress is not None:
                progress(len(block))
    with open(tmp / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["image", "split", *names])
        for k in range(ds.n):
            part = "train" if ds.split[k] == 0 else "test"
            out.writerow([f"{part}/{file_name(k)}", part,
                          *(f"{float(ds.labels[k, i]):.9g}" for i in idx)])
    info = {
        "format": "causalvae-folders",
        "source": str(ds.path),
        "scene": ds.scene,
        "scene_entry": ds.scene_entry,
        "image": {"size": size, "mode": "RGBA", "alpha": 255, "stored_size": ds.image_size,
                  "resample": "lanczos" if ds.image_size != size else "none"},
        "name_pattern": "<index>_" + "_".join(f"<{n}>" for n in names) + ".png",
        "labels": [asdict(c) for c in codes],
        "train": int((ds.split == 0).sum()),
        "test": int((ds.split != 0).sum()),
        "adjacency": ds.adjacency[np.ix_(idx, idx)].tolist(),
    }
    (tmp / "encoding.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
