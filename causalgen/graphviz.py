"""Causal graphs of specs, datasets and scenes: DOT text, and drawings for papers.

:func:`graph_of` finds the graph of a spec file, a dataset file or a registered scene id (with
the variables' units, and a dataset's intervention); :meth:`Graph.dot` writes it as DOT (for
Graphviz or any DOT viewer); :meth:`Graph.write` writes DOT text (``.dot`` / ``.gv``) or a
drawing (``.png``, ``.pdf``, ``.svg``) made by :func:`causalgen.figures.graph.graph_figure`
(matplotlib, the ``figures`` extra): nodes in layers, laid out by Graphviz ``dot`` where the
binary is installed and by a built-in layered layout otherwise. Latent variables (custom scenes'
``latent = true``) are dashed; variables set by a dataset's ``do()`` are marked, and the edges
into them drawn as cut: the graph itself is always the one before any intervention.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from causalgen.errors import CausalgenError, SpecError


@dataclass(frozen=True)
class Graph:
    """A DAG over named variables: ``adjacency[i, j] = 1`` for an edge i -> j."""

    title: str
    names: tuple[str, ...]
    adjacency: np.ndarray
    latent: frozenset[str] = field(default_factory=frozenset)
    units: tuple[str, ...] = ()
    intervention: dict[str, Any] = field(default_factory=dict)
    lagged: np.ndarray | None = None  # temporal SCMs: (V, V), edge from row at t-1 to column at t

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(self.names[i], self.names[j]) for i, j in zip(*np.nonzero(self.adjacency),
                                                                strict=True)]

    def dot(self) -> str:
        """The graph in the DOT language."""
        def quote(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = [f"digraph {quote(self.title or 'scm')} {{", "  rankdir=TB;",
                 '  node [shape=box, style="rounded"];']
        for name in self.names:
            style = ' [style="rounded,dashed", label=' + quote(name + " (latent)") + "]" \
                if name in self.latent else ""
            lines.append(f"  {quote(name)}{style};")
        lines += [f"  {quote(a)} -> {quote(b)};" for a, b in self.edges]
        if self.lagged is not None:  # t-1 -> t edges, dashed (the PNG drawing leaves them out)
            lines += [f'  {quote(self.names[i])} -> {quote(self.names[j])} [style=dashed, '
                      f'label="t-1", constraint=false];'
                      for i, j in zip(*np.nonzero(self.lagged), strict=True)]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def figure(self, engine: str = "auto") -> Any:
        """The graph drawn as a matplotlib Figure (see the module docstring)."""
        from causalgen.figures.graph import graph_figure

        try:
            return graph_figure(self.names, self.adjacency, units=self.units or None,
                                title=self.title, latent=self.latent,
                                intervention=self.intervention, engine=engine)
        except ValueError as exc:  # a cycle: only a hand-made adjacency can have one
            raise SpecError(str(exc)) from exc

    def write(self, path: str | os.PathLike) -> Path:
        """Write ``.dot`` / ``.gv`` text, or a ``.png`` / ``.pdf`` / ``.svg`` drawing, by the
        suffix of ``path``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".dot", ".gv", ".png", ".pdf", ".svg"):
            raise CausalgenError(f"{path}: the output must end in .png, .pdf or .svg (a "
                                 "drawing) or .dot / .gv (DOT text).")
        if not path.parent.exists():
            raise CausalgenError(f"the directory {path.parent} does not exist.")
        if suffix in (".png", ".pdf", ".svg"):
            from causalgen.figures.style import save

            return save(self.figure(), path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            tmp.write_text(self.dot(), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


def graph_of(target: str | os.PathLike) -> Graph:
    """The graph of a spec file (``.toml``), a dataset (``.h5``) or a registered scene id."""
    path = Path(target)
    if path.suffix.lower() in (".h5", ".hdf5"):
        from causalgen.io import open_dataset

        with open_dataset(path) as ds:
            latent = _latent(ds.scene_kwargs)
            return Graph(ds.scene, tuple(ds.variable_names), ds.adjacency.copy(), latent,
                         tuple(v.unit for v in ds.variables), dict(ds.intervention or {}),
                         lagged=getattr(ds, "lagged_adjacency", None))
    if path.suffix.lower() == ".toml" or path.is_file():
        from causalgen.scenes.files import load_spec

        with warnings.catch_warnings():  # validation doubts are `causalgen validate`'s business
            warnings.simplefilter("ignore")
            loaded = load_spec(path)
        scm = loaded.scm
        title = scm.name or loaded.scene_id
        return Graph(title, scm.names, scm.adjacency(), _latent(loaded.scene_kwargs),
                     _units(scm), lagged=_lagged(scm))
    from causalgen import scenes

    scene = scenes.make(str(target))
    scm = scene.default_scm()
    return Graph(scene.id, scm.names, scm.adjacency(), _latent(getattr(scene, "definition", None)),
                 _units(scm), lagged=_lagged(scm))


def _units(scm: Any) -> tuple[str, ...]:
    return tuple(str(getattr(v, "unit", "") or "") for v in scm.variables)


def _lagged(scm: Any) -> np.ndarray | None:
    return scm.lagged_adjacency() if scm.is_dynamic else None


def _latent(kwargs: object) -> frozenset[str]:
    """Latent variables of a custom scene's definition (found in scene kwargs or the scene)."""
    if isinstance(kwargs, dict) and "definition" in kwargs:
        kwargs = kwargs["definition"]
    if not isinstance(kwargs, dict):
        return frozenset()
    tables = kwargs.get("variables")
    if isinstance(tables, dict):  # [variables.NAME] tables, or the stored list form
        tables = [{"name": k, **v} for k, v in tables.items() if isinstance(v, dict)]
    if not isinstance(tables, list):
        return frozenset()
    return frozenset(str(t.get("name")) for t in tables
                     if isinstance(t, dict) and t.get("latent") is True)
