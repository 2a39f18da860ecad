"""Layered drawing coordinates of a DAG: Graphviz ``dot`` when the binary exists, else our own.

:func:`layout` places node boxes (sizes given, in points) in layers, roots on top, and routes each
edge as a chain of cubic Bezier pieces from the bottom side of the upper node to the top side of
the lower node. The fallback is a small Sugiyama layout: longest-path layers; an edge spanning
several layers passes through dummy slots reserved in each layer between (so it never crosses a
node); barycentre sweeps order the layers to reduce crossings; nodes are pulled towards their
neighbours; and edge ends are spread along a node's side so arrowheads never merge. Each Bezier
piece runs monotonically in y inside one gap between layers or down a dummy slot, so no edge
passes through a box. With ``dot`` on the PATH, ``dot -Tjson`` places the same boxes and routes
the splines instead. Coordinates are points with y growing upwards (matplotlib's convention).
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

GAP_Y = 40.0  # points between layers
GAP_NODE, GAP_DUMMY = 16.0, 9.0  # horizontal space beside a node / beside an edge slot
SWEEPS = 12
Box = tuple[float, float, float, float]  # x0, y0, x1, y1
Point = tuple[float, float]


@dataclass
class Layout:
    """Node boxes and edge routes. ``routes[k]`` is the Bezier chain of ``edges[k]`` from its
    upper end (``edges[k][0]``) to its lower end: a start point, then 3 points per cubic piece."""

    boxes: list[Box]
    edges: list[tuple[int, int]]
    routes: list[list[Point]]
    engine: str  # "dot" or "layered"

    @property
    def extent(self) -> Box:
        xs = [v for b in self.boxes for v in (b[0], b[2])] + [p[0] for r in self.routes for p in r]
        ys = [v for b in self.boxes for v in (b[1], b[3])] + [p[1] for r in self.routes for p in r]
        return (min(xs), min(ys), max(xs), max(ys))

    def sampled(self, k: int, per_piece: int = 24) -> np.ndarray:
        """Points along edge ``k``'s curve, (M, 2)."""
        pts = np.asarray(self.routes[k], float)
        out = [pts[:1]]
        t = np.linspace(0, 1, per_piece)[1:, None]
        for i in range(0, len(pts) - 1, 3):
            p0, p1, p2, p3 = pts[i:i + 4]
            out.append((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2
                       + t ** 3 * p3)
        return np.concatenate(out)


def layers_of(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Longest-path layer of each node, roots moved down to just above their highest child;
    ValueError on a cycle."""
    parents: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        parents[b].append(a)
    layer: list[int | None] = [None] * n
    visiting: set[int] = set()

    def depth(i: int) -> int:
        known = layer[i]
        if known is not None:
            return known
        if i in visiting:
            raise ValueError("the graph has a cycle; it cannot be drawn in layers")
        visiting.add(i)
        d = 1 + max((depth(p) for p in parents[i]), default=-1)
        visiting.discard(i)
        layer[i] = d
        return d

    layers = [depth(i) for i in range(n)]
    for i in range(n):  # a root sits just above its highest child (shorter edges, as dot does)
        children = [b for a, b in edges if a == i]
        if not parents[i] and children:
            layers[i] = min(layers[b] for b in children) - 1
    return layers


def layout(sizes: Sequence[tuple[float, float]], edges: Sequence[tuple[int, int]],
           engine: str = "auto") -> Layout:
    """Boxes of the given (width, height) sizes and routes of ``edges`` (each pointing down the
    layers: the layout graph must be acyclic). ``engine``: "auto" (dot if installed), "dot" or
    "layered"."""
    edges = [(int(a), int(b)) for a, b in edges]
    if engine in ("auto", "dot") and shutil.which("dot"):
        try:
            return _dot_layout(sizes, edges)
        except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
            log.warning("graphviz dot failed (%s); using the built-in layered layout", exc)
    return _layered(sizes, edges)


# -- the built-in layered layout ---------------------------------------------------------------


def _crossings(order: list[list[int]], down: dict[int, list[int]]) -> int:
    total = 0
    for upper, lower in itertools.pairwise(order):
        pos = {v: k for k, v in enumerate(lower)}
        pairs = [(i, pos[w]) for i, u in enumerate(upper) for w in down.get(u, []) if w in pos]
        total += sum(1 for a, (i1, j1) in enumerate(pairs) for i2, j2 in pairs[a + 1:]
                     if (i1 - i2) * (j1 - j2) < 0)
    return total


def _layered(sizes: Sequence[tuple[float, float]], edges: list[tuple[int, int]]) -> Layout:
    n = len(sizes)
    layer = layers_of(n, edges)
    n_layers = max(layer, default=0) + 1
    # slots: nodes 0..n-1, then dummies; each edge becomes a chain of slots one layer apart
    slot_layer = list(layer)
    chains: list[list[int]] = []
    for a, b in edges:
        chain = [a]
        for li in range(layer[a] + 1, layer[b]):
            slot_layer.append(li)
            chain.append(len(slot_layer) - 1)
        chains.append([*chain, b])
    width = [s[0] for s in sizes] + [0.0] * (len(slot_layer) - n)
    down: dict[int, list[int]] = {}
    up: dict[int, list[int]] = {}
    for chain in chains:
        for u, v in itertools.pairwise(chain):
            down.setdefault(u, []).append(v)
            up.setdefault(v, []).append(u)
    order = [[s for s in range(len(slot_layer)) if slot_layer[s] == li] for li in range(n_layers)]
    best, best_c = [list(o) for o in order], _crossings(order, down)
    for sweep in range(SWEEPS):
        rng = range(1, n_layers) if sweep % 2 == 0 else range(n_layers - 2, -1, -1)
        for li in rng:
            ref = {s: k for k, s in enumerate(order[li - 1 if sweep % 2 == 0 else li + 1])}
            nbrs = up if sweep % 2 == 0 else down
            keyed = []
            for k, s in enumerate(order[li]):
                linked = [ref[t] for t in nbrs.get(s, []) if t in ref]
                keyed.append((float(np.mean(linked)) if linked else float(k), k, s))
            order[li] = [s for _, _, s in sorted(keyed)]
        c = _crossings(order, down)
        if c < best_c:
            best, best_c = [list(o) for o in order], c
    order = best

    def gap(s: int, t: int) -> float:
        return GAP_NODE if s < n and t < n else GAP_DUMMY

    # x: pack each layer, then pull slots towards their neighbours' mean, keeping the order
    x = np.zeros(len(slot_layer))
    for row in order:
        pos = 0.0
        for k, s in enumerate(row):
            pos += (gap(row[k - 1], s) if k else 0.0) + width[s] / 2
            x[s] = pos
            pos += width[s] / 2
    widest = max(x[row[-1]] + width[row[-1]] / 2 for row in order if row)
    for row in order:  # centre each packed layer
        if row:
            x[row] += (widest - (x[row[-1]] + width[row[-1]] / 2)) / 2
    for it in range(16):
        rows = range(n_layers) if it % 2 == 0 else range(n_layers - 1, -1, -1)
        for li in rows:
            row = order[li]
            want = np.array([np.mean([x[t] for t in up.get(s, []) + down.get(s, [])])
                             if up.get(s) or down.get(s) else x[s] for s in row])
            want = 0.5 * x[row] + 0.5 * want
            x[row] = _place(want, [width[s] for s in row],
                            [gap(a, b) for a, b in itertools.pairwise(row)])
    x -= min(x[s] - width[s] / 2 for s in range(len(slot_layer)))
    # y: layer li's band is [top - h, top], top descending
    band_h = [max((sizes[s][1] for s in row if s < n), default=0.0) for row in order]
    tops, top = [], 0.0
    for h in band_h:
        tops.append(top)
        top -= h + GAP_Y
    boxes: list[Box] = []
    for i in range(n):
        cy = tops[layer[i]] - band_h[layer[i]] / 2
        w, h = sizes[i]
        boxes.append((x[i] - w / 2, cy - h / 2, x[i] + w / 2, cy + h / 2))
    routes = _route(chains, x, boxes, layer, tops, band_h, n)
    return Layout(boxes, edges, routes, "layered")


def _place(want: np.ndarray, widths: list[float], gaps: list[float]) -> np.ndarray:
    """Positions near ``want`` keeping the given order and minimum spacing (a forward then a
    backward pass, averaged, then forced apart)."""
    m = len(want)
    if m == 1:
        return want.copy()
    need = np.array([widths[k] / 2 + gaps[k] + widths[k + 1] / 2 for k in range(m - 1)])
    fwd = want.copy()
    for k in range(1, m):
        fwd[k] = max(fwd[k], fwd[k - 1] + need[k - 1])
    back = want.copy()
    for k in range(m - 2, -1, -1):
        back[k] = min(back[k], back[k + 1] - need[k])
    out = (fwd + back) / 2
    for k in range(1, m):
        out[k] = max(out[k], out[k - 1] + need[k - 1])
    return out


def _ports(count: int, x0: float, x1: float) -> list[float]:
    """``count`` x positions spread over the middle of a side from x0 to x1."""
    if count == 1:
        return [(x0 + x1) / 2]
    span = min((x1 - x0) * 0.7, 14.0 * (count - 1))
    mid = (x0 + x1) / 2
    return [mid - span / 2 + span * k / (count - 1) for k in range(count)]


def _route(chains: list[list[int]], x: np.ndarray, boxes: list[Box], layer: list[int],
           tops: list[float], band_h: list[float], n: int) -> list[list[Point]]:
    # edge ends along each node's bottom (outgoing) and top (incoming) side, ordered by the
    # x of the other end so that edges leaving or entering one node do not cross there
    start: dict[int, float] = {}
    end: dict[int, float] = {}
    for i in range(n):
        out = sorted((k for k, c in enumerate(chains) if c[0] == i), key=lambda k: x[chains[k][1]])
        inc = sorted((k for k, c in enumerate(chains) if c[-1] == i), key=lambda k: x[chains[k][-2]])
        for k, px in zip(out, _ports(len(out), boxes[i][0], boxes[i][2]), strict=True):
            start[k] = px
        for k, px in zip(inc, _ports(len(inc), boxes[i][0], boxes[i][2]), strict=True):
            end[k] = px
    routes = []
    for k, chain in enumerate(chains):
        a, b = chain[0], chain[-1]
        pts: list[Point] = [(start[k], boxes[a][1])]
        li = layer[a]
        for d in chain[1:-1]:  # down the dummy slot: through the whole band of its layer
            li += 1
            pts += _s_curve(pts[-1], (float(x[d]), tops[li]))
            pts += _straight(pts[-1], (float(x[d]), tops[li] - band_h[li]))
        pts += _s_curve(pts[-1], (end[k], boxes[b][3]))
        routes.append(pts)
    return routes


def _s_curve(p: Point, q: Point) -> list[Point]:
    """A cubic from p down to q with vertical tangents at both ends (y stays between them)."""
    dy = (q[1] - p[1]) / 2
    return [(p[0], p[1] + dy), (q[0], q[1] - dy), q]


def _straight(p: Point, q: Point) -> list[Point]:
    return [(p[0] + (q[0] - p[0]) / 3, p[1] + (q[1] - p[1]) / 3),
            (p[0] + 2 * (q[0] - p[0]) / 3, p[1] + 2 * (q[1] - p[1]) / 3), q]


# -- Graphviz dot -----------------------------------------------------------------------------


def _dot_layout(sizes: Sequence[tuple[float, float]], edges: list[tuple[int, int]]) -> Layout:
    lines = ["digraph G {", "  rankdir=TB; nodesep=0.25; ranksep=0.5; splines=spline;",
             '  node [shape=box, fixedsize=true, label=""];', "  edge [dir=none];"]
    lines += [f"  n{i} [width={w / 72:.4f}, height={h / 72:.4f}];" for i, (w, h) in enumerate(sizes)]
    lines += [f"  n{a} -> n{b};" for a, b in edges]
    lines.append("}")
    proc = subprocess.run(["dot", "-Tjson"], input="\n".join(lines), capture_output=True,
                          text=True, timeout=30, check=True)
    doc = json.loads(proc.stdout)
    boxes: list[Box] = [(0.0, 0.0, 0.0, 0.0)] * len(sizes)
    gvid = {}
    for obj in doc.get("objects", []):
        i = int(obj["name"][1:])
        gvid[obj["_gvid"]] = i
        cx, cy = map(float, obj["pos"].split(","))
        w, h = sizes[i]
        boxes[i] = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    routes: list[list[Point]] = [[] for _ in edges]
    remaining = list(range(len(edges)))
    for e in doc.get("edges", []):
        pair = (gvid[e["tail"]], gvid[e["head"]])
        k = next(k for k in remaining if edges[k] == pair)
        remaining.remove(k)
        pts = [tuple(map(float, p.split(","))) for p in e["pos"].split() if "," in p
               and not p.startswith(("e,", "s,"))]
        routes[k] = [(float(p[0]), float(p[1])) for p in pts]
    if remaining:
        raise ValueError("dot left edges unrouted")
    return Layout(boxes, edges, routes, "dot")
