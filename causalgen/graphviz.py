"""Causal graphs without the Graphviz binary: DOT text, and a PNG laid out in layers with Pillow.

:func:`graph_of` finds the graph of a spec file, a dataset file or a registered scene id;
:meth:`Graph.dot` writes it as DOT (for Graphviz, if installed, or any DOT viewer);
:meth:`Graph.image` draws it: nodes in layers by topological depth (roots on top, a node one
layer below its deepest parent), each layer ordered by a few barycentre sweeps to reduce
crossings, edges as arrows. Latent variables (custom scenes' ``latent = true``) are drawn dashed
in DOT and grey in the PNG.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from causalgen.errors import CausalgenError, SpecError

NODE_H = 30  # pixels at scale 1
GAP_X, GAP_Y, MARGIN, PAD = 24, 46, 20, 12
SWEEPS = 4
_AA = 2  # drawn at twice the size, then reduced: smooth lines


@dataclass(frozen=True)
class Graph:
    """A DAG over named variables: ``adjacency[i, j] = 1`` for an edge i -> j."""

    title: str
    names: tuple[str, ...]
    adjacency: np.ndarray
    latent: frozenset[str] = field(default_factory=frozenset)

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
        lines.append("}")
        return "\n".join(lines) + "\n"

    def layers(self) -> list[list[int]]:
        """Node indices by layer (topological depth), each layer in drawing order."""
        adj = np.asarray(self.adjacency) != 0
        n = len(self.names)
        depth = [0] * n
        for j in _topological(adj):
            parents = np.flatnonzero(adj[:, j])
            depth[j] = 1 + max(depth[p] for p in parents) if len(parents) else 0
        layers: list[list[int]] = [[] for _ in range(max(depth, default=0) + 1)]
        for i in range(n):
            layers[depth[i]].append(i)
        position = {i: k for layer in layers for k, i in enumerate(layer)}
        for sweep in range(SWEEPS):  # barycentre ordering, down then up
            order = range(1, len(layers)) if sweep % 2 == 0 else range(len(layers) - 2, -1, -1)
            for li in order:
                neighbours = adj[:, layers[li]] if sweep % 2 == 0 else adj[layers[li], :].T
                centres = []
                for k, node in enumerate(layers[li]):
                    linked = np.flatnonzero(neighbours[:, k])
                    centres.append((float(np.mean([position[p] for p in linked])) if len(linked)
                                    else float(position[node]), k))
                layers[li] = [layers[li][k] for _, k in sorted(centres)]
                position.update({i: k for k, i in enumerate(layers[li])})
        return layers

    def image(self) -> Image.Image:
        """The graph drawn as an RGB image."""
        s = _AA
        font = ImageFont.load_default(size=13 * s)
        title_font = ImageFont.load_default(size=14 * s)
        layers = self.layers()
        widths = {i: font.getlength(name + (" (latent)" if name in self.latent else ""))
                  + 2 * PAD * s for i, name in enumerate(self.names)}
        row_w = [sum(widths[i] for i in layer) + GAP_X * s * (len(layer) - 1) for layer in layers]
        title_h = 28 * s if self.title else 0
        w = int(max([*row_w, font.getlength(self.title) if self.title else 0]) + 2 * MARGIN * s)
        h = int(title_h + len(layers) * NODE_H * s + (len(layers) - 1) * GAP_Y * s + 2 * MARGIN * s)
        img = Image.new("RGB", (w, h), "white")
        draw = ImageDraw.Draw(img)
        if self.title:
            draw.text((w / 2, MARGIN * s), self.title, fill="black", font=title_font, anchor="mt")
        boxes: dict[int, tuple[float, float, float, float]] = {}
        for li, layer in enumerate(layers):
            x = (w - row_w[li]) / 2
            y = MARGIN * s + title_h + li * (NODE_H + GAP_Y) * s
            for i in layer:
                boxes[i] = (x, y, x + widths[i], y + NODE_H * s)
                x += widths[i] + GAP_X * s
        for i, j in zip(*np.nonzero(self.adjacency), strict=True):
            _arrow(draw, boxes[int(i)], boxes[int(j)], s)
        for i, (x0, y0, x1, y1) in boxes.items():
            name = self.names[i]
            hidden = name in self.latent
            draw.rounded_rectangle((x0, y0, x1, y1), radius=8 * s,
                                   fill=(235, 235, 235) if hidden else (225, 238, 252),
                                   outline=(150, 150, 150) if hidden else (40, 80, 140),
                                   width=2 * s)
            label = name + (" (latent)" if hidden else "")
            draw.text(((x0 + x1) / 2, (y0 + y1) / 2), label, fill="black", font=font, anchor="mm")
        return img.resize((w // s, h // s), Image.Resampling.LANCZOS)

    def write(self, path: str | os.PathLike) -> Path:
        """Write ``.dot`` / ``.gv`` text or a ``.png`` image, by the suffix of ``path``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".dot", ".gv", ".png"):
            raise CausalgenError(f"{path}: the output must end in .png (a drawing) or .dot / .gv "
                                 "(DOT text).")
        if not path.parent.exists():
            raise CausalgenError(f"the directory {path.parent} does not exist.")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            if suffix == ".png":
                self.image().save(tmp, format="PNG")
            else:
                tmp.write_text(self.dot(), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


def _topological(adj: np.ndarray) -> list[int]:
    indeg = adj.sum(axis=0).tolist()
    ready = [i for i, d in enumerate(indeg) if d == 0]
    order: list[int] = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for j in np.flatnonzero(adj[i]).tolist():
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
    if len(order) < len(adj):
        raise SpecError("the graph has a cycle; it cannot be drawn in layers.")
    return order


def _arrow(draw: ImageDraw.ImageDraw, a: Sequence[float], b: Sequence[float], s: int) -> None:
    """An arrow from the bottom of box ``a`` to the top of box ``b``."""
    x0, y0 = (a[0] + a[2]) / 2, a[3]
    x1, y1 = (b[0] + b[2]) / 2, b[1]
    colour = (60, 60, 60)
    length = float(np.hypot(x1 - x0, y1 - y0)) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    head, half = 11 * s, 5 * s
    bx, by = x1 - ux * head, y1 - uy * head
    draw.line([(x0, y0), (bx, by)], fill=colour, width=2 * s)
    draw.polygon([(x1, y1), (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)],
                 fill=colour)


def graph_of(target: str | os.PathLike) -> Graph:
    """The graph of a spec file (``.toml``), a dataset (``.h5``) or a registered scene id."""
    path = Path(target)
    if path.suffix.lower() in (".h5", ".hdf5"):
        from causalgen.io import open_dataset

        with open_dataset(path) as ds:
            latent = _latent(ds.scene_kwargs)
            return Graph(ds.scene, tuple(ds.variable_names), ds.adjacency.copy(), latent)
    if path.suffix.lower() == ".toml" or path.is_file():
        from causalgen.scenes.files import load_spec

        with warnings.catch_warnings():  # validation doubts are `causalgen validate`'s business
            warnings.simplefilter("ignore")
            loaded = load_spec(path)
        scm = loaded.scm
        title = scm.name or loaded.scene_id
        return Graph(title, scm.names, scm.adjacency(), _latent(loaded.scene_kwargs))
    from causalgen import scenes

    scene = scenes.make(str(target))
    scm = scene.default_scm()
    return Graph(scene.id, scm.names, scm.adjacency(), _latent(getattr(scene, "definition", None)))


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
