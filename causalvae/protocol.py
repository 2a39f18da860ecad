"""Bring-your-own-model evaluation: score any representation or model on a causalgen file.

Two doors, one set of rules (:mod:`causalvae.representation` for the representation scores,
:mod:`causalvae.graph` for graphs, :func:`causalvae.evaluate.counterfactual_scores` for
counterfactuals):

* :func:`evaluate_latents`: a latents array (N, d), row i for row i of the file (or of one
  split), and optionally a learned graph (V, V), 0/1 or weighted, from ``.npy`` or a CSV whose
  header names the variables;
* :func:`evaluate_model`: any object with ``encode(images) -> (B, d)`` (images uint8
  (B, H, W, 3) at the file's size) and, optionally, ``intervene(images, variable, values) ->
  uint8 images`` and ``graph`` (a (V, V) array). With ``intervene``, its counterfactuals of held-
  out observational samples under do(variable = another held-out sample's value) are compared
  with the generator's ground-truth renders of the same units (:mod:`causalgen.truth`) by pixel
  MSE and by a label probe. Files of imported data (scene ``external/NAME``) have no generator:
  the counterfactual part is skipped with one log line.

Representation scores use the test split (a file without one is refused rather than silently
scored on training images); ``evaluate_latents`` scores the rows it is given. Nothing is written
until every score is computed; the JSON is written atomically.
"""

from __future__ import annotations

import csv
import difflib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from causalgen.io import open_dataset
from causalgen.truth import truth_unavailable
from causalvae.counterfactual import _to_float_images, counterfactual_scores
from causalvae.errors import DataError
from causalvae.essential import target_family
from causalvae.evaluate import select_samples, write_json
from causalvae.graph import graph_metrics
from causalvae.probe import label_probe
from causalvae.representation import check_latents, representation_metrics

__all__ = ["Encoder", "evaluate_latents", "evaluate_model", "load_graph", "load_latents",
           "write_json"]

log = logging.getLogger(__name__)
EVALUATION_NAME = "evaluation.json"
GRAPH_KEYS = ("shd", "shd_cpdag", "equivalence_class", "graph_flags", "precision", "recall",
              "sid", "auroc", "threshold", "pred_is_dag", "n_edges_pred", "predicted_adjacency",
              "learned_adjacency", "true_adjacency")


@runtime_checkable
class Encoder(Protocol):
    """What :func:`evaluate_model` needs; ``intervene`` and ``graph`` are optional extras."""

    def encode(self, images: np.ndarray) -> np.ndarray: ...


def load_latents(path: str | os.PathLike) -> np.ndarray:
    """A latents array from ``.npy`` (no pickles) or ``.npz`` (its only array)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            magic = f.read(6)
        if not magic.startswith((b"\x93NUMPY", b"PK")):  # np.load would call it a pickle
            raise DataError(f"{p} is not a .npy / .npz file (neither starts as numpy's formats "
                            "do); save the array with numpy.save or numpy.savez")
        arr = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{p} is not a readable .npy / .npz array ({exc})") from None
    if isinstance(arr, np.lib.npyio.NpzFile):
        with arr:
            if len(arr.files) != 1:
                raise DataError(f"{p} holds {len(arr.files)} arrays ({', '.join(arr.files)}); "
                                "save the latents alone")
            arr = arr[arr.files[0]]
    return arr


def load_graph(path: str | os.PathLike, names: Sequence[str]) -> np.ndarray:
    """A (V, V) graph, rows and columns in the order of ``names``.

    ``.npy``: the matrix itself, in the file's variable order. ``.csv``: a header of variable
    names (any order; the matrix is reordered to the file's), then one row per variable, either
    V numbers or the row's variable name followed by V numbers (then row names must match the
    header). Entry [i, j] != 0 is an edge i -> j; 0/1 or weighted.
    """
    p = Path(path)
    v = len(names)
    if p.suffix.lower() == ".csv":
        a = _read_csv_graph(p, names)
    else:
        a = np.asarray(load_latents(p), dtype=np.float64)
    if a.shape != (v, v):
        raise DataError(f"{p}: the graph must be ({v}, {v}) for the variables {list(names)}, got "
                        f"shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{p}: the graph holds NaN or infinite entries")
    return a


def _name_error(p: Path, bad: str, names: Sequence[str]) -> DataError:
    close = difflib.get_close_matches(bad, list(names), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return DataError(f"{p}: unknown variable {bad!r}{hint} (the file's variables: "
                     f"{', '.join(names)})")


def _read_csv_graph(p: Path, names: Sequence[str]) -> np.ndarray:
    with p.open(newline="") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{p} is empty; expected a header of variable names and a matrix")
    header = [c.strip() for c in rows[0]]
    named_rows = len(header) == len(names) + 1 and header[0] in ("", "from", "source")
    cols = header[1:] if named_rows else header
    for c in cols:
        if c not in names:
            raise _name_error(p, c, names)
    if sorted(cols) != sorted(names):
        raise DataError(f"{p}: the header must name each of the {len(names)} variables once, got "
                        f"{cols}")
    body, row_names = [], []
    for r in rows[1:]:
        cells = [c.strip() for c in r]
        if len(cells) == len(cols) + 1:
            if cells[0] not in names:
                raise _name_error(p, cells[0], names)
            row_names.append(cells[0])
            cells = cells[1:]
        try:
            body.append([float(c) for c in cells])
        except ValueError:
            raise DataError(f"{p}: row {len(body) + 2} has a non-numeric entry: {r}") from None
    if len({len(b) for b in body}) > 1 or len(body) != len(cols) or len(body[0]) != len(cols):
        raise DataError(f"{p}: expected {len(cols)} rows of {len(cols)} numbers under the header, "
                        f"got {len(body)} rows")
    order = row_names or cols
    if row_names and sorted(row_names) != sorted(cols):
        raise DataError(f"{p}: the row names {row_names} must be the header's variables")
    m = np.asarray(body, dtype=np.float64)
    ri = [order.index(n) for n in names]
    ci = [cols.index(n) for n in names]
    return m[np.ix_(ri, ci)]


def score_graph(A: np.ndarray, ds: Any, threshold: float | None) -> dict[str, Any]:
    """Graph metrics of a learned (V, V) A against the file's DAG and its equivalence class."""
    binary = bool(np.all((A == 0) | (A == 1)))
    th = 0.5 if binary and threshold is None else threshold
    g = graph_metrics(A, ds.adjacency, threshold=th, targets=target_family(ds.intervened))
    out = {k: g[k] for k in GRAPH_KEYS}
    out["graph_input"] = "binary" if binary else "weighted"
    if binary:
        out["auroc"] = None  # a 0/1 graph ranks no edges
    return out


def _rows(ds: Any, split: str) -> np.ndarray:
    if split not in ("all", "train", "test"):
        raise DataError(f"unknown split {split!r}; use all, train or test")
    rows = ds.indices(split)
    if len(rows) == 0:
        raise DataError(f"{ds.path} has no {split} samples")
    return rows


def evaluate_latents(data: str | os.PathLike, latents: np.ndarray, *,
                     graph: np.ndarray | None = None, split: str = "all",
                     graph_threshold: float | None = None, seed: int = 0,
                     max_samples: int = 2000, out: str | os.PathLike | None = None
                     ) -> dict[str, Any]:
    """Score latents (rows of ``split`` in file order) and an optional graph; see the module."""
    with open_dataset(data) as ds:
        rows = _rows(ds, split)
        z = check_latents(latents, len(rows))
        names = ds.variable_names
        labels = ds.labels[rows].astype(np.float64)
        rec: dict[str, Any] = {"data": str(data), "split": split, "variables": names,
                               "n_rows": len(rows)}
        rec.update(representation_metrics(z, labels, names, seed=seed, max_samples=max_samples))
        if graph is not None:
            rec.update(score_graph(np.asarray(graph, dtype=np.float64), ds, graph_threshold))
    if out is not None:
        write_json(Path(out) / EVALUATION_NAME, rec)
    return rec


def _encode_all(encode: Callable[[np.ndarray], Any], images: Any, rows: np.ndarray,
                batch: int) -> np.ndarray:
    out = []
    for s in range(0, len(rows), batch):
        z = np.asarray(encode(np.asarray(images[rows[s:s + batch]])))
        out.append(check_latents(z, min(batch, len(rows) - s), "encode(images)"))
    return np.concatenate(out)  # (m, d)


def evaluate_model(model: Any, data: str | os.PathLike, *, n_eval: int = 1000, n_cf: int = 256,
                   seed: int = 0, batch: int = 256, graph_threshold: float | None = None,
                   out: str | os.PathLike | None = None) -> dict[str, Any]:
    """Score any model with ``encode`` (and optionally ``intervene``, ``graph``) on ``data``.

    Representation scores: ``encode`` of up to ``n_eval`` random test images. Counterfactual
    fidelity (with ``intervene``): ``n_cf`` observational test samples, each variable set to
    another such sample's value, the model's images against the ground-truth renders. Returns
    the record (also written to ``out/evaluation.json`` when ``out`` is given).
    """
    if not callable(getattr(model, "encode", None)):
        raise DataError(f"{type(model).__name__} has no encode(images) method")
    with open_dataset(data) as ds:
        if getattr(ds, "steps", None) is not None:
            raise DataError(f"{data} holds sequences ({ds.steps} steps); evaluate_model scores "
                            "still images: use a file generated without --steps")
        names = ds.variable_names
        batch_ = select_samples(ds, n_eval, seed, observational=False)
        z = _encode_all(model.encode, ds.images, batch_.indices, batch)
        rec: dict[str, Any] = {"data": str(data), "split": "test", "variables": names,
                               "model": type(model).__name__, "n_eval": len(batch_.indices)}
        rec.update(representation_metrics(z, batch_.labels, names, seed=seed,
                                          concept_dims=getattr(model, "concept_dims", None)))
        A = getattr(model, "graph", None)
        if A is not None:
            rec.update(score_graph(np.asarray(A, dtype=np.float64), ds, graph_threshold))
        rec["counterfactual"] = None
        if callable(getattr(model, "intervene", None)):
            no_truth = truth_unavailable(ds)
            if no_truth is not None:  # imported data (scene external/NAME): no generator
                log.info("counterfactual fidelity skipped (no generator, so no ground-truth "
                         "counterfactuals): %s", no_truth)
                rec["counterfactual"] = {"skipped": no_truth}
            else:
                cf_batch = select_samples(ds, n_cf, seed + 1, observational=True)
                probe = label_probe(ds, seed)

                def make_cf(images: np.ndarray, labels: np.ndarray, concept: int,
                            values: np.ndarray) -> np.ndarray:
                    out = []
                    for s in range(0, len(images), batch):
                        part = images[s:s + batch]
                        made = model.intervene(part, names[concept], values[s:s + batch])
                        out.append(_checked_images(made, part.shape))
                    return _to_float_images(np.concatenate(out), ds.image_size)

                rec["counterfactual"] = counterfactual_scores(ds, cf_batch, make_cf, probe, seed)
    if out is not None:
        write_json(Path(out) / EVALUATION_NAME, rec)
    return rec


def _checked_images(images: Any, shape: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype != np.uint8 or x.shape != shape:
        raise DataError(f"intervene() must return uint8 images of shape {shape}, got "
                        f"{x.dtype} {x.shape}")
    return x
