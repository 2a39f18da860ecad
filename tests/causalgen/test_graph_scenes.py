"""The graph-recovery scenes of docs/results.md (issue 10): ``data/scenes/heldout`` and ``dev``.

Each file states its graph in a ``# Graph:`` header line, which docs/results.md quotes; the
tests check that the spec defines exactly that graph, and that every variable is drawn (a
variable the image does not show could never reach the MIC the results report).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from causalgen import scenes
from causalgen.graphviz import Graph
from causalgen.scenes.custom import SceneWarning
from causalgen.scenes.files import load_spec

ROOT = Path(__file__).parents[2]
GRAPH_SCENES = sorted((ROOT / "data/scenes/heldout").glob("*.toml")) + sorted(
    (ROOT / "data/scenes/dev").glob("*.toml"))


def header_edges(text: str) -> set[tuple[str, str]]:
    """Edges of the ``# Graph: a -> b <- c, c -> d; d -> e`` line; parentheses hold prose (an
    unclosed one runs to the end of the line)."""
    line = next(ln for ln in text.splitlines() if ln.startswith("# Graph:"))
    body = re.sub(r"\([^)]*\)", " ", line.split(":", 1)[1]).split("(")[0]
    edges: set[tuple[str, str]] = set()
    for part in re.split(r"[,;]", body):
        tokens = re.split(r"\s*(->|<-)\s*", part.strip().rstrip(".").strip())
        for i in range(1, len(tokens) - 1, 2):
            left, arrow, right = tokens[i - 1], tokens[i], tokens[i + 1]
            assert re.fullmatch(r"\w+", left) and re.fullmatch(r"\w+", right), part
            edges.add((left, right) if arrow == "->" else (right, left))
    return edges


def test_header_parser_reads_chains_forks_colliders() -> None:
    text = "# intro\n# Graph: a -> b <- c (a collider), b -> d; d -> f, and e alone (prose -> x\n"
    assert header_edges(text) == {("a", "b"), ("c", "b"), ("b", "d"), ("d", "f")}


def test_the_scene_sets_are_there() -> None:
    names = {p.parent.name + "/" + p.stem for p in GRAPH_SCENES}
    assert {"heldout/prism", "heldout/tally", "heldout/octet", "dev/eight"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize("path", GRAPH_SCENES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_graph_scene_defines_its_stated_graph_and_draws_every_variable(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SceneWarning)
        loaded = load_spec(path)
    scm = loaded.scm
    names = list(scm.names)
    defined = set(Graph(path.stem, scm.names, scm.adjacency()).edges)
    assert header_edges(path.read_text()) == defined, path.name

    scene = scenes.make(loaded.scene_id, **loaded.scene_kwargs)
    samples = scm.sample(500, np.random.default_rng(0), clip=True)
    values = {v: np.asarray(samples[v], dtype=float) for v in names}
    centre = {v: np.array([np.median(x)]) for v, x in values.items()}
    for v in names:  # one variable at its 10th and its 90th percentile, the rest at medians
        low, high = (dict(centre, **{v: np.array([np.quantile(values[v], q)])}) for q in (0.1, 0.9))
        changed = np.abs(scene.render(low, 64)[0].astype(int)
                         - scene.render(high, 64)[0].astype(int)).sum()
        assert changed > 0, f"{path.name}: variable {v!r} does not change the image"
