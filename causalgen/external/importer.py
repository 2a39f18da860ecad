"""``causalgen import``: external images with labels (and a declared graph) -> a schema-v1 file.

:func:`import_images` reads the labels (a CSV, or CelebA's files), picks the columns, reads and
checks the graph, matches every label row to an image file and only then decodes, crops and
resizes the images in a process pool (:mod:`causalgen.external.decode`), streaming them into a
:class:`~causalgen.io.writer.DatasetWriter`: the output appears, complete, only at the end, and
any refusal leaves nothing behind. The file's ``scene`` is ``external/NAME``; it has no SCM
(``scm = "{}"``), NaN noise, the declared graph as its adjacency (no edges when none was given),
the split from CelebA's partition file (valid counts as train) or else a seeded random
``test_fraction``, each image's source file in ``source_names`` and a ``source`` attribute
recording how the file was made.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from causalgen.errors import ImportDataError
from causalgen.external.decode import BATCH, decode_batches
from causalgen.external.graph import read_graph
from causalgen.external.labels import (
    CELEBA_IMAGES,
    IMAGE_COLUMN_NAMES,
    LabelTable,
    check_header,
    read_celeba,
    read_csv,
)
from causalgen.generate import split_membership
from causalgen.io import schema as S
from causalgen.io.writer import DatasetWriter, check_output_path, chunk_rows

log = logging.getLogger(__name__)

FORMATS = ("auto", "csv", "celeba")
DEFAULT_SIZE = 64
DEFAULT_TEST_FRACTION = 0.2
SHOWN = 5  # names listed in a message about bad rows or images


@dataclass
class ImportReport:
    """What :func:`import_images` wrote."""

    path: Path
    n: int
    columns: list[str]
    binary: list[str]
    edges: list[str]
    graph_declared: bool
    train: int
    test: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    seconds: float = 0.0


def _index_images(root: Path) -> dict[str, str]:
    """Relative POSIX path -> absolute path of every file under ``root``."""
    out: dict[str, str] = {}
    for dirpath, _dirs, files in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        for f in files:
            out[(rel / f).as_posix()] = os.path.join(dirpath, f)
    return out


def _match(table: LabelTable, images: dict[str, str]) -> tuple[list[str | None], str]:
    """The image path of each label row (None where none matches), and how rows were matched."""
    by_name: dict[str, str | None] = {}
    for key, path in images.items():
        base = key.rsplit("/", 1)[-1]
        by_name[base] = None if base in by_name else path  # None: ambiguous base name
    paths: list[str | None] = []
    for f in table.files:
        key = f.replace("\\", "/").removeprefix("./")
        paths.append(images.get(key) or by_name.get(key.rsplit("/", 1)[-1]))
    return paths, "relative path, else unique file name"


def _csv_paths(path: Path, image_column: str | None) -> list[str]:
    """The image column of a CSV that lists image paths (``image_column``, else the first)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]] if rows else []
    check_header(path, header)
    column = image_column or next((h for h in header if h.lower() in IMAGE_COLUMN_NAMES),
                                  header[0] if header else None)
    if column not in header:
        raise ImportDataError(f"{path} has no column {column!r} listing image paths.")
    k = header.index(column)
    return [r[k].strip() for r in rows[1:] if len(r) > k]


def _listed_images(csv_path: Path, listed: Sequence[str]) -> dict[str, str]:
    """Images listed in a CSV: each path as written, resolved against the CSV's directory."""
    out = {}
    for f in listed:
        p = Path(f).expanduser()
        p = p if p.is_absolute() else csv_path.parent / p
        if p.is_file():
            out[f.replace("\\", "/").removeprefix("./")] = str(p)
    return out


def _shown(items: Sequence[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _variables(table: LabelTable) -> list[S.VariableInfo]:
    out = []
    for j, name in enumerate(table.names):
        if name in table.binary:
            out.append(S.VariableInfo(name, "binary", 0.0, 1.0))
        else:
            col = table.values[:, j]
            out.append(S.VariableInfo(name, "", float(col.min()), float(col.max())))
    return out


def _load_table(source: Path, fmt: str, labels: Path | None,
                image_column: str | None, columns: Sequence[str] | None
                ) -> tuple[LabelTable, dict[str, str], str]:
    """The label table, the available images and the import's default name."""
    if fmt == "auto":
        fmt = "celeba" if source.is_dir() and (source / CELEBA_IMAGES).is_dir() and labels is None \
            else "csv"
    if fmt == "celeba":
        if labels is not None:
            raise ImportDataError("--format celeba reads list_attr_celeba.txt; do not give --labels.")
        if not source.is_dir():
            raise ImportDataError(f"--format celeba takes CelebA's root folder; {source} is not "
                                  "a folder.")
        table = read_celeba(source)
        return table.select(columns), _index_images(source / CELEBA_IMAGES), "celeba"
    if source.is_dir():
        if labels is None:
            raise ImportDataError(f"{source} is a folder of images: give their labels with "
                                  "--labels LABELS.csv (a header line, an image column and label "
                                  "columns), or use --format celeba for a CelebA root.")
        table = read_csv(labels, image_column, columns)
        return table, _index_images(source), source.resolve().name
    if not source.is_file():
        raise ImportDataError(f"no such folder or CSV file: {source}.")
    table = read_csv(labels or source, image_column, columns)
    listed = table.files if labels is None else _csv_paths(source, image_column)
    return table, _listed_images(source, listed), source.stem


def _name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ImportDataError(f"--name {name!r}: use letters, digits, '.', '_' and '-'.")
    return name


def import_images(
    source: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    fmt: str = "auto",
    labels: str | os.PathLike | None = None,
    image_column: str | None = None,
    columns: Sequence[str] | None = None,
    graph: str | os.PathLike | None = None,
    name: str | None = None,
    size: int = DEFAULT_SIZE,
    crop: int | None = None,
    test_fraction: float | None = None,
    seed: int = 0,
    skip_bad: bool = False,
    workers: int | None = None,
    compression: str = S.DEFAULT_COMPRESSION,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import images and labels from ``source`` into the schema-v1 file ``out``.

    ``source`` is a folder of images (labels from the CSV ``labels``), a CSV listing image paths
    (relative to it) with their labels (or with ``labels`` elsewhere), or CelebA's root
    (``fmt="celeba"``, detected when ``source`` holds ``img_align_celeba/``). Label rows name
    images by path relative to the folder, or by a file name that is unique in it.
    """
    if fmt not in FORMATS:
        raise ImportDataError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    if not 8 <= size <= 1024:
        raise ImportDataError(f"--size must be between 8 and 1024 pixels, got {size}.")
    if crop is not None and crop < 1:
        raise ImportDataError(f"--crop must be a positive number of pixels, got {crop}.")
    if test_fraction is not None and not 0.0 <= test_fraction < 1.0:
        raise ImportDataError(f"--test-fraction must be in [0, 1), got {test_fraction}.")
    source = Path(source)
    table, images, default_name = _load_table(source, fmt, Path(labels) if labels else None,
                                              image_column, columns)
    name = _name(name or default_name)
    out = check_output_path(out or f"{name}.h5", overwrite)
    adjacency = (read_graph(graph, table.names) if graph is not None
                 else np.zeros((len(table.names),) * 2, np.int8))
    paths, _how = _match(table, images)
    missing = [f for f, p in zip(table.files, paths, strict=True) if p is None]
    skipped: list[tuple[str, str]] = [(f, "no such image") for f in missing]
    if missing and not skip_bad:
        raise ImportDataError(
            f"{len(missing)} of {len(table.files)} label rows match no image in {source}: "
            f"{_shown(missing)}. Rows name images by their path relative to the folder, or by a "
            "file name unique in it; fix the names, or pass --skip-bad to leave those rows out.")
    first: dict[str, int] = {}
    for i, p in enumerate(paths):
        if p is not None and first.setdefault(p, i) != i:  # one image, two sets of labels
            raise ImportDataError(
                f"label rows {first[p] + 1} ({table.files[first[p]]}) and {i + 1} "
                f"({table.files[i]}) name the same image {p}; give each image one row.")
    rows = np.array([i for i, p in enumerate(paths) if p is not None], np.int64)
    if not len(rows):
        raise ImportDataError(f"none of the {len(table.files)} label rows matches an image in "
                              f"{source}.")
    table = table.keep(rows)
    paths = [p for p in paths if p is not None]
    n = len(paths)
    if table.partition is not None and test_fraction is None:
        split = (table.partition == 2).astype(np.uint8)  # 0 train, 1 valid -> train; 2 test
        split_rule = "CelebA partition: 0 train, 1 valid -> train, 2 test"
    else:
        frac = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
        split = split_membership(seed, n, frac)
        split_rule = f"random, test_fraction {frac:g}, seed {seed}"
    workers = min(os.cpu_count() or 1, 8) if workers is None else max(1, int(workers))
    source_doc: dict[str, Any] = {
        "format": "celeba" if table.partition is not None or fmt == "celeba" else "csv",
        "path": str(source.resolve()), "labels": str(Path(labels).resolve()) if labels else None,
        "columns": table.names, "binary": table.binary,
        "binary_encoding": {c: "-1 -> 0, 1 -> 1" for c in table.signed},
        "graph": str(Path(graph).resolve()) if graph else None, "graph_declared": graph is not None,
        "crop": crop, "size": size, "resample": "bilinear (JPEG: draft-mode DCT reduction first)",
        "split": split_rule,
    }
    attrs: dict[str, Any] = {
        S.ATTR_SCENE: S.EXTERNAL_PREFIX + name, S.ATTR_ADJACENCY: adjacency, S.ATTR_SCM: "{}",
        S.ATTR_INTERVENTION: "{}", S.ATTR_SEED: int(seed), S.ATTR_IMAGE_SIZE: size,
        S.ATTR_TEST_FRACTION: float(split.mean()) if n else 0.0, S.ATTR_TOTAL: n,
    }
    t0 = time.perf_counter()
    bad: list[tuple[str, str]] = []
    with DatasetWriter(out, n=n, image_shape=(size, size, 3), variables=_variables(table),
                       attrs=attrs, compression=compression, overwrite=overwrite,
                       resizable=skip_bad) as w:
        names = w.file.create_dataset(S.SOURCE_NAMES, shape=(n,), dtype=h5py.string_dtype(),
                                      maxshape=(None,) if skip_bad else None)
        nan = np.full((len(paths), len(table.names)), np.nan, np.float32)
        kept: list[int] = []
        cursor = 0
        rows = chunk_rows(n)
        encode = (rows, compression) if BATCH % rows == 0 else None
        for batch in decode_batches(paths, size, crop, workers, encode):
            bad += [(table.files[i], why) for i, why in batch.bad]
            if skip_bad or not bad:  # without --skip-bad, stop writing but keep counting
                k = len(batch.ok)
                if k:
                    # compressed chunks when they land on chunk boundaries: after a skipped image
                    # they no longer do, and the images are compressed here instead
                    aligned = batch.chunks is not None and cursor % rows == 0
                    w.write(cursor, batch.chunks if aligned else batch.images,
                            table.values[batch.ok], nan[:k], split[batch.ok])
                    names[cursor:cursor + k] = [table.files[i] for i in batch.ok]
                kept += batch.ok.tolist()
                cursor += k
            if progress is not None:
                progress(len(batch.ok) + len(batch.bad))
        if bad and not skip_bad:
            raise ImportDataError(
                f"{len(bad)} of {n} images failed to decode: "
                f"{_shown([f'{f} ({why})' for f, why in bad])}. Pass --skip-bad to leave them out; "
                f"nothing was written.")
        if cursor == 0:
            raise ImportDataError(f"none of the {n} images decoded; nothing was written.")
        if cursor < n:
            w.truncate(cursor)
            names.resize(cursor, axis=0)
            w.file.attrs[S.ATTR_TOTAL] = cursor
        skipped += bad
        split = split[kept]
        w.file.attrs[S.ATTR_TEST_FRACTION] = float(split.mean())
        source_doc["skipped"] = {"count": len(skipped),
                                 "first": [f"{f}: {why}" for f, why in skipped[:100]]}
        w.file.attrs[S.ATTR_SOURCE] = json.dumps(source_doc)
    dt = time.perf_counter() - t0
    log.info("imported %d images in %.2f s (%.0f images/s) -> %s", cursor, dt, cursor / dt, out)
    edges = [f"{table.names[i]} -> {table.names[j]}" for i, j in zip(*np.nonzero(adjacency),
                                                                      strict=True)]
    return ImportReport(Path(out), cursor, table.names, table.binary, edges, graph is not None,
                        int((split == 0).sum()), int((split == 1).sum()), skipped, dt)
