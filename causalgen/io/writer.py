"""Write causalgen datasets: atomic (temporary name, renamed when complete) and streamed by block.

:class:`DatasetWriter` allocates the datasets of schema v1 at their final size, takes blocks of
samples in any order, and on a clean exit writes the ``complete`` attribute last and renames the
file into place. On any exception, the temporary file is removed: a reader never sees a file that
looks complete but is not. A process killed mid-way leaves only ``NAME.<pid>.partial``, which the
next writer of NAME removes. The writer holds an exclusive claim on the name while it writes (a
second writer fails at once), and a full disk or an unwritable place is one DatasetError.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from causalgen import __version__
from causalgen.errors import DatasetError
from causalgen.io import schema as S
from causalgen.io.safefs import OutputClaim, os_error, remove_stale

log = logging.getLogger(__name__)


def check_output_path(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an existing output unless ``overwrite``; refuse a missing parent directory."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise DatasetError(f"{path} already exists; pass --overwrite to replace it.")
    if path.is_dir():
        raise DatasetError(f"{path} is a directory; give a file name such as {path / 'data.h5'}.")
    if path.is_file() and path.stat().st_size and not h5py.is_hdf5(path):
        # --overwrite replaced a spec or labels file given as --out by mistake
        raise DatasetError(f"{path} exists and is not an HDF5 file; --overwrite only replaces a "
                           "dataset, so choose another --out (or delete the file yourself).")
    if not path.parent.exists():
        raise DatasetError(
            f"the directory {path.parent} does not exist; create it or choose another --out."
        )
    return path


def _compression_kwargs(compression: str) -> dict[str, Any]:
    if compression not in S.COMPRESSIONS:
        raise DatasetError(
            f"unknown compression {compression!r}; choose one of {', '.join(S.COMPRESSIONS)}."
        )
    if compression == "none":
        return {}
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": S.GZIP_LEVEL}
    return {"compression": "lzf"}


EncodedChunks = list[tuple[int, int, bytes]]  # (first row, HDF5 filter mask, stored bytes)
_memfile = itertools.count()


def chunk_rows(n: int) -> int:
    """Images per chunk of a file holding ``n`` images (HDF5 wants chunk <= extent)."""
    return max(1, min(S.IMAGES_PER_CHUNK, n))


def encode_chunks(images: np.ndarray, rows: int, compression: str) -> EncodedChunks:
    """Compress ``images`` (whose first row starts a chunk) into stored HDF5 chunks.

    Runs in worker processes so the parent only copies bytes (``write_direct_chunk``). It uses
    h5py's own filters on an in-memory file, so the bytes are exactly what the parent would have
    stored, and the result is readable by any HDF5 reader.
    """
    # Padded to whole chunks (zeros, as HDF5 pads an edge chunk): a last block shorter than a
    # chunk still encodes, and the padding never shows (readers stop at the dataset's extent).
    padded = -(-len(images) // rows) * rows
    with h5py.File(f"causalgen-{os.getpid()}-{next(_memfile)}", "w", driver="core",
                   backing_store=False) as f:
        d = f.create_dataset(S.IMAGES, shape=(padded, *images.shape[1:]), dtype=np.uint8,
                             chunks=(rows, *images.shape[1:]), fillvalue=0, fletcher32=True,
                             **_compression_kwargs(compression))
        d[: len(images)] = images
        origin = (0,) * (images.ndim - 1)
        return [(i, *d.id.read_direct_chunk((i, *origin))) for i in range(0, len(images), rows)]


class DatasetWriter:
    """Streams blocks of samples into a new schema-v1 file.

    ``n`` is the number of samples in this file (a shard's share when ``shard`` is given).
    ``attrs`` are the file attributes other than the ones the writer sets itself (format,
    schema version, generator version, complete).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        n: int,
        image_shape: tuple[int, int, int],
        variables: Sequence[S.VariableInfo],
        attrs: Mapping[str, Any],
        compression: str = S.DEFAULT_COMPRESSION,
        counterfactual: Mapping[str, Any] | None = None,
        intervened: bool = False,
        overwrite: bool = False,
        resizable: bool = False,
        environment: bool = False,
        hide_targets: bool = False,
    ) -> None:
        self.path = check_output_path(path, overwrite)
        self.n = int(n)
        # resizable: per-sample datasets may shrink before commit (:meth:`truncate`), for writers
        # that learn only while writing how many samples survive (``causalgen import --skip-bad``)
        self._maxshape = (lambda shape: (None, *shape[1:])) if resizable else (lambda shape: None)
        self.v = len(variables)
        self._tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}{S.PARTIAL_SUFFIX}")
        self._file: h5py.File | None = None
        # with hide_targets the per-sample targets live in the hidden/ group
        self._intervened_key = f"{S.HIDDEN}/{S.INTERVENED}" if hide_targets else S.INTERVENED
        # An exclusive claim on the name for the whole write: a second writer fails at once.
        self._claim: OutputClaim | None = None
        try:
            self._claim = OutputClaim(self.path)
            check_output_path(self.path, overwrite)  # again, now that the name is ours
            remove_stale(self.path)  # NAME.<pid>.partial of writers that were killed
            self._file = h5py.File(self._tmp, "w")
            self._create(image_shape, variables, attrs, compression, counterfactual, intervened)
            if environment:
                self._file.create_dataset(S.ENVIRONMENT, shape=(self.n,), dtype=np.int32,
                                          maxshape=self._maxshape((self.n,)),
                                          chunks=(max(1, min(S.ROWS_PER_CHUNK, self.n)),),
                                          fletcher32=True)
        except OSError as exc:
            self._abort()
            raise os_error(exc, self.path) or exc from None
        except BaseException:
            self._abort()
            raise

    def _create(self, image_shape, variables, attrs, compression, counterfactual, intervened) -> None:
        f = self._file
        kw = _compression_kwargs(compression)
        chunk = (chunk_rows(self.n), *image_shape)
        groups = [f]
        if counterfactual is not None:
            cf = f.create_group(S.COUNTERFACTUAL)
            cf.attrs[S.ATTR_INTERVENTION] = json.dumps(dict(counterfactual), sort_keys=True)
            groups.append(cf)
        m = self._maxshape
        rows = max(1, min(S.ROWS_PER_CHUNK, self.n))
        # Every dataset is chunked with a fletcher32 checksum per chunk, so damage is detected on
        # read (the reader names the rows) instead of being returned as data.
        for g in groups:
            g.create_dataset(S.IMAGES, shape=(self.n, *image_shape), dtype=np.uint8, chunks=chunk,
                             maxshape=m((self.n, *image_shape)), fletcher32=True, **kw)
            for key in (S.LABELS, S.NOISE):
                g.create_dataset(key, shape=(self.n, self.v), dtype=np.float32,
                                 maxshape=m((self.n, self.v)), chunks=(rows, self.v),
                                 fletcher32=True)
        f.create_dataset(S.SPLIT, shape=(self.n,), dtype=np.uint8, maxshape=m((self.n,)),
                         chunks=(rows,), fletcher32=True)
        if intervened:
            f.create_dataset(self._intervened_key, shape=(self.n, self.v), dtype=np.uint8,
                             maxshape=m((self.n, self.v)), chunks=(rows, self.v), fletcher32=True)
        f.attrs[S.ATTR_FORMAT] = S.FORMAT_NAME
        f.attrs[S.ATTR_SCHEMA_VERSION] = S.SCHEMA_VERSION
        f.attrs[S.ATTR_GENERATOR_VERSION] = __version__
        f.attrs[S.ATTR_VARIABLES] = json.dumps([v.to_dict() for v in variables])
        for key, value in attrs.items():
            f.attrs[key] = value
        f.attrs[S.ATTR_COMPLETE] = False

    def write(
        self,
        start: int,
        images: np.ndarray | EncodedChunks,
        labels: np.ndarray,
        noise: np.ndarray,
        split: np.ndarray,
        counterfactual: tuple[np.ndarray | EncodedChunks, np.ndarray, np.ndarray] | None = None,
        intervened: np.ndarray | None = None,
        environment: np.ndarray | None = None,
    ) -> None:
        """Write samples [start, start + len(labels)) of this file.

        Images come as an array, or as chunks from :func:`encode_chunks` when ``start`` is
        chunk-aligned (the generation driver's blocks always are).
        """
        try:
            self._write(start, images, labels, noise, split, counterfactual, intervened,
                        environment)
        except OSError as exc:  # a full disk; the caller's `with` removes the partial file
            raise os_error(exc, self.path) or exc from None

    def _write(self, start, images, labels, noise, split, counterfactual, intervened,
               environment) -> None:
        stop = start + len(labels)
        f = self._file
        groups = [(f, images, labels, noise)]
        if counterfactual is not None:
            groups.append((f[S.COUNTERFACTUAL], *counterfactual))
        for g, imgs, lab, noi in groups:
            self._images(g[S.IMAGES], start, imgs)
            g[S.LABELS][start:stop] = lab
            g[S.NOISE][start:stop] = noi
        f[S.SPLIT][start:stop] = split
        if intervened is not None:
            f[self._intervened_key][start:stop] = intervened
        if environment is not None:
            f[S.ENVIRONMENT][start:stop] = environment

    @staticmethod
    def _images(dset: h5py.Dataset, start: int, images: np.ndarray | EncodedChunks) -> None:
        if isinstance(images, np.ndarray):
            dset[start:start + len(images)] = images
            return
        origin = (0,) * (dset.ndim - 1)
        for row, mask, data in images:
            dset.id.write_direct_chunk((start + row, *origin), data, mask)

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` samples (a writer made with ``resizable=True``)."""
        n = int(n)
        if not 1 <= n <= self.n:
            raise DatasetError(f"cannot truncate a file of {self.n} samples to {n}.")
        for g in [self._file, self._file.get(S.COUNTERFACTUAL)]:
            for key in (S.IMAGES, S.LABELS, S.NOISE, S.SPLIT, S.INTERVENED, S.ENVIRONMENT,
                        f"{S.HIDDEN}/{S.INTERVENED}"):
                if g is not None and isinstance(g.get(key), h5py.Dataset):
                    g[key].resize(n, axis=0)
        self.n = n

    @property
    def intervened_key(self) -> str:
        """Where this file keeps the per-sample targets (``hidden/intervened`` when hidden)."""
        return self._intervened_key

    @property
    def file(self) -> h5py.File:
        return self._file

    def commit(self) -> Path:
        """Mark complete (the last attribute written), close, and rename into place."""
        try:
            self._file.attrs[S.ATTR_COMPLETE] = True
            self._file.close()
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self._abort()
            raise os_error(exc, self.path) or exc from None
        if self._claim is not None:
            self._claim.release()
        log.info("wrote %s", self.path)
        return self.path

    def _abort(self) -> None:
        try:
            if self._file is not None:
                self._file.close()
        except OSError:
            pass  # a full disk may fail the close too; the file is removed either way
        finally:
            self._tmp.unlink(missing_ok=True)
            if self._claim is not None:
                self._claim.release()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self._abort()


def write_arrays(
    path: str | os.PathLike,
    images: np.ndarray,
    labels: np.ndarray,
    variables: Sequence[S.VariableInfo],
    adjacency: np.ndarray,
    *,
    noise: np.ndarray | None = None,
    split: np.ndarray | None = None,
    scene: str = "arrays-v0",
    spec_json: str = "{}",
    seed: int = 0,
    compression: str = S.DEFAULT_COMPRESSION,
    overwrite: bool = False,
) -> Path:
    """Write a complete schema-v1 file from in-memory arrays (fixtures, exports, conversions)."""
    images = np.asarray(images, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.float32)
    n = len(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DatasetError(f"images must be uint8 (N, H, W, 3), got shape {images.shape}.")
    if labels.shape != (n, len(variables)):
        raise DatasetError(f"labels must have shape {(n, len(variables))}, got {labels.shape}.")
    noise = np.zeros_like(labels) if noise is None else np.asarray(noise, dtype=np.float32)
    split = np.zeros(n, np.uint8) if split is None else np.asarray(split, dtype=np.uint8)
    attrs = {
        S.ATTR_SCENE: scene,
        S.ATTR_ADJACENCY: np.asarray(adjacency, dtype=np.int8),
        S.ATTR_SCM: spec_json,
        S.ATTR_INTERVENTION: "{}",
        S.ATTR_SEED: int(seed),
        S.ATTR_TOTAL: n,
        S.ATTR_IMAGE_SIZE: images.shape[1],
    }
    with DatasetWriter(
        path,
        n=n,
        image_shape=images.shape[1:],
        variables=variables,
        attrs=attrs,
        compression=compression,
        overwrite=overwrite,
    ) as w:
        w.write(0, images, labels, noise, split)
    return Path(path)
