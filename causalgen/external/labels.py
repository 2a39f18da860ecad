"""Label tables of external images: a CSV with a header, or CelebA's attribute and partition files.

A :class:`LabelTable` holds one row per image: the image's file name (as the labels name it), the
chosen label columns as float32, the columns stored as binary, and, for CelebA, the source
partition. Binary attributes given as -1 / 1 (CelebA's convention, or any CSV column whose values
are all -1 or 1) are stored as 0 / 1 floats (-1 -> 0, 1 -> 1); columns already 0 / 1 are kept.
Either way the variable's unit is ``"binary"`` and its range [0, 1], so a model reads them as it
reads any label, and MIC / MCC compare latents with the 0 / 1 values.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from causalgen.errors import ImportDataError
from causalgen.scm.spec import did_you_mean

log = logging.getLogger(__name__)

IMAGE_COLUMN_NAMES = ("image", "image_id", "image_path", "file", "filename", "file_name", "path")
CELEBA_IMAGES = "img_align_celeba"
CELEBA_ATTRS = "list_attr_celeba.txt"
CELEBA_PARTITION = "list_eval_partition.txt"
# CelebA's partition codes -> schema split: train and valid train, test tests.
CELEBA_SPLITS = {0: "train", 1: "valid", 2: "test"}


@dataclass
class LabelTable:
    """Labels of ``len(files)`` images: ``values`` (N, V) float32 in ``names`` order."""

    files: list[str]
    names: list[str]
    values: np.ndarray  # (N, V) float32
    binary: list[str] = field(default_factory=list)  # columns stored as 0 / 1
    signed: list[str] = field(default_factory=list)  # of those, the ones mapped from -1 / 1
    partition: np.ndarray | None = None  # (N,) uint8 CelebA codes 0 / 1 / 2, when known

    def select(self, columns: Sequence[str] | None) -> LabelTable:
        """The table restricted to ``columns`` (in that order); all columns when None."""
        if columns is None:
            return self
        columns = list(columns)
        if not columns:
            raise ImportDataError("--columns names no column; give at least one, e.g. --columns A,B.")
        seen: set[str] = set()
        for name in columns:
            if name not in self.names:
                raise ImportDataError(
                    f"no label column {name!r}{did_you_mean(name, self.names)}; the labels have "
                    f"{_listing(self.names)}.")
            if name in seen:
                raise ImportDataError(f"--columns names {name!r} twice.")
            seen.add(name)
        idx = [self.names.index(c) for c in columns]
        return LabelTable(self.files, columns, self.values[:, idx],
                          [c for c in columns if c in self.binary],
                          [c for c in columns if c in self.signed],
                          self.partition)

    def keep(self, rows: np.ndarray) -> LabelTable:
        """The table restricted to ``rows`` (indices, in order)."""
        return LabelTable([self.files[i] for i in rows], self.names, self.values[rows], self.binary,
                          self.signed, None if self.partition is None else self.partition[rows])


def _listing(names: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return f"columns {shown}" + (f" and {len(names) - most} more" if len(names) > most else "")


def _binary(names: list[str], values: np.ndarray, signed_known: bool) -> tuple[np.ndarray, list, list]:
    """Map -1 / 1 columns to 0 / 1; return values and the binary and mapped column names."""
    binary, signed = [], []
    for j, name in enumerate(names):
        col = values[:, j]
        present = set(np.unique(col).tolist())
        if signed_known or (present <= {-1.0, 1.0} and -1.0 in present):
            values[:, j] = (col + 1.0) / 2.0
            binary.append(name)
            signed.append(name)
        elif present <= {0.0, 1.0}:
            binary.append(name)
    return values, binary, signed


class _Columns:
    """Cells of the wanted columns, converted to float32 row by row (memory: N x V floats)."""

    BLOCK = 8192

    def __init__(self, path: Path, names: list[str], explicit: bool) -> None:
        self.path, self.names, self.explicit = path, names, explicit
        self.blocks: list[np.ndarray] = []
        self.fill = self.BLOCK
        self.text: dict[int, tuple[int, str]] = {}  # column -> first (line, cell) not a number

    def add(self, cells: list[str], line: int) -> None:
        if self.fill == self.BLOCK:
            self.blocks.append(np.empty((self.BLOCK, len(self.names)), np.float32))
            self.fill = 0
        row = self.blocks[-1][self.fill]
        self.fill += 1
        try:
            row[:] = cells
            return
        except ValueError:
            pass
        for j, cell in enumerate(cells):
            try:
                row[j] = float(cell)
            except ValueError:
                if self.explicit:
                    raise ImportDataError(
                        f"{self.path}, line {line}: column {self.names[j]!r} holds {cell!r}, "
                        "which is not a number; labels must be numeric.") from None
                row[j] = np.nan
                self.text.setdefault(j, (line, cell))

    def result(self) -> tuple[list[str], np.ndarray]:
        """The numeric columns (others left out, with a warning) and their values (N, V)."""
        values = np.concatenate(self.blocks)[: (len(self.blocks) - 1) * self.BLOCK + self.fill] \
            if self.blocks else np.empty((0, len(self.names)), np.float32)
        for j, (line, cell) in sorted(self.text.items()):
            log.warning("%s: column %r is not numeric (line %d: %r); left out", self.path,
                        self.names[j], line, cell)
        keep = [j for j in range(len(self.names)) if j not in self.text]
        return [self.names[j] for j in keep], values[:, keep]


def read_csv(path: Path, image_column: str | None = None,
             columns: Sequence[str] | None = None) -> LabelTable:
    """Labels from a CSV with a header: one image column and numeric label columns."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sample = f.read(4096)
            f.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            return _read_rows(path, csv.reader(f, dialect), image_column, columns)
    except OSError as exc:
        raise ImportDataError(f"cannot read the labels {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ImportDataError(f"{path} is not a UTF-8 text file; labels are a CSV with a header.") from None


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def check_header(path: Path, header: list[str]) -> None:
    """Refuse a first line that names an image file or holds a decimal number: it is a data row,
    and read as the header its cells would become the column names and its image would be lost."""
    def decimal(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return not cell.lstrip("+-").isdigit()  # "0", "1", ... are pandas' default column names
    if any(c.lower().endswith(_IMAGE_SUFFIXES) or decimal(c) for c in header):
        raise ImportDataError(f"{path}: the first line ({','.join(header[:4])}"
                              f"{',...' if len(header) > 4 else ''}) looks like a data row, not a "
                              "header; add a first line naming the columns, e.g. "
                              "'filename,<label>,...'.")


def _read_rows(path: Path, reader: Iterator[list[str]], image_column: str | None,
               columns: Sequence[str] | None) -> LabelTable:
    header = next((r for r in reader if any(c.strip() for c in r)), None)
    if header is None:
        raise ImportDataError(f"{path} is empty; labels are a CSV with a header line and one "
                              "line per image.")
    header = [h.strip() for h in header]
    check_header(path, header)
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise ImportDataError(f"{path}: the header names column {dup!r} twice.")
    if image_column is None:
        lower = [h.lower() for h in header]
        image_column = next((header[lower.index(c)] for c in IMAGE_COLUMN_NAMES if c in lower),
                            header[0])
    elif image_column not in header:
        raise ImportDataError(f"{path} has no column {image_column!r}"
                              f"{did_you_mean(image_column, header)} for --image-column; "
                              f"its {_listing(header)}.")
    others = [c for c in header if c != image_column]
    wanted = others if columns is None else list(columns)
    for name in wanted:
        if name not in others:
            raise ImportDataError(f"no label column {name!r}{did_you_mean(name, others)} in "
                                  f"{path}; it has {_listing(others)} "
                                  f"(and the image column {image_column!r}).")
    k, idx = header.index(image_column), [header.index(c) for c in wanted]
    cols = _Columns(path, wanted, explicit=columns is not None)
    files: list[str] = []
    for line, r in enumerate(reader, start=2):
        if not any(c.strip() for c in r):
            continue
        if len(r) != len(header):
            raise ImportDataError(f"{path}, line {line}: {len(r)} fields, but the header has "
                                  f"{len(header)}.")
        files.append(r[k].strip())
        cols.add([r[j].strip() for j in idx], line)
    if not files:
        raise ImportDataError(f"{path} has no data rows; labels are a CSV with a header line and "
                              "one line per image.")
    names, values = cols.result()
    if not names:
        raise ImportDataError(f"{path} has no numeric label column besides {image_column!r}.")
    if "" in names:  # it would become a variable without a name (blank in every table and figure)
        raise ImportDataError(f"{path}: column {header.index('') + 1} holds numbers but has no "
                              "name in the header; name it there (or delete the column).")
    if not np.isfinite(values).all():
        i, j = np.argwhere(~np.isfinite(values))[0]
        raise ImportDataError(f"{path}, data row {i + 1}: column {names[j]!r} is not a finite "
                              "number.")
    values, binary, signed = _binary(names, values, signed_known=False)
    return LabelTable(files, names, values, binary, signed)


def read_celeba(root: Path) -> LabelTable:
    """CelebA's ``list_attr_celeba.txt`` (and ``list_eval_partition.txt`` when present)."""
    attrs = root / CELEBA_ATTRS
    if not (root / CELEBA_IMAGES).is_dir() or not attrs.is_file():
        raise ImportDataError(
            f"{root} is not a CelebA root: --format celeba expects {CELEBA_IMAGES}/ and "
            f"{CELEBA_ATTRS} in it (and {CELEBA_PARTITION} for the split).")
    try:
        text = attrs.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportDataError(f"cannot read {attrs}: {exc}.") from None
    head = [ln.split() for ln in text[:2]]
    if len(text) < 3 or len(head[0]) != 1 or not head[0][0].isdigit():
        raise ImportDataError(f"{attrs} is not in CelebA's layout: line 1 is the image count, line "
                              "2 the attribute names, then one line per image (file name and one "
                              "-1 / 1 value per attribute).")
    names = head[1]
    files: list[str] = []
    lines: list[int] = []
    values = np.empty((len(text) - 2, len(names)), np.float32)
    for line, row_text in enumerate(text[2:], start=3):
        row = row_text.split()
        if not row:
            continue
        if len(row) != len(names) + 1:
            raise ImportDataError(f"{attrs}, line {line}: {len(row) - 1} values for "
                                  f"{len(names)} attributes.")
        try:
            values[len(files)] = row[1:]
        except ValueError:
            raise ImportDataError(f"{attrs}, line {line}: values must be -1 or 1.") from None
        files.append(row[0])
        lines.append(line)
    values = values[: len(files)]
    if int(head[0][0]) != len(files):
        log.warning("%s: line 1 says %s images but %d are listed; using the %d listed", attrs,
                    head[0][0], len(files), len(files))
    if not files:
        raise ImportDataError(f"{attrs} lists no images.")
    if not np.isin(values, (-1.0, 1.0)).all():
        i, j = np.argwhere(~np.isin(values, (-1.0, 1.0)))[0]
        raise ImportDataError(f"{attrs}, line {lines[i]}: {names[j]} is {values[i, j]:g}; "
                              "CelebA's attributes are -1 or 1.")
    values, binary, signed = _binary(names, values, signed_known=True)
    return LabelTable(files, names, values, binary, signed, _partition(root, files))


def _partition(root: Path, files: list[str]) -> np.ndarray | None:
    path = root / CELEBA_PARTITION
    if not path.is_file():
        log.warning("%s not found: the split comes from --test-fraction", path)
        return None
    codes: dict[str, int] = {}
    for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = text.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise ImportDataError(f"{path}, line {line}: expected a file name and 0 (train), 1 "
                                  f"(valid) or 2 (test), got {text.strip()!r}.")
        codes[parts[0]] = int(parts[1])
    missing = [f for f in files if f not in codes]
    if missing:
        raise ImportDataError(f"{path} gives no partition for {len(missing)} of the images in "
                              f"{CELEBA_ATTRS} (first: {missing[0]}).")
    return np.array([codes[f] for f in files], np.uint8)
