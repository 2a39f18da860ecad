"""A declared causal graph over imported label columns: a TOML edge list or an adjacency CSV.

TOML: ``edges = ["Smiling -> Mouth_Slightly_Open", "Male -> Goatee"]`` (optionally ``nodes =
[...]``, which only checks names). Adjacency CSV: a header line of column names (an optional empty
first cell), then one line per column, optionally starting with its name, of 0 / 1 entries: row
``i``, column ``j`` is 1 for an edge ``i -> j``. Every name must be an imported label column, and
the graph must be a DAG; otherwise :class:`ImportDataError` names the unknown column (with a "did
you mean") or the cycle. Columns the graph does not mention have no edges.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from causalgen.errors import ImportDataError, SpecError
from causalgen.scm.spec import did_you_mean
from causalgen.scm.tomlfile import read_toml


def _check_name(name: str, columns: Sequence[str], path: Path, where: str) -> int:
    if name not in columns:
        raise ImportDataError(
            f"{path}: {where} names {name!r}, which is not an imported label column"
            f"{did_you_mean(name, columns)}; the columns are {', '.join(columns)} (add it to "
            "--columns if the labels have it).")
    return list(columns).index(name)


def _from_toml(path: Path, columns: Sequence[str]) -> np.ndarray:
    try:  # the spec files' reader: size, encoding (a byte-order mark dropped), nesting, syntax
        _, _, doc = read_toml(path, kind="graph")
    except SpecError as exc:
        raise ImportDataError(str(exc)) from None
    unknown = sorted(set(doc) - {"edges", "nodes"})
    if unknown:
        raise ImportDataError(f"{path}: unknown key(s) {', '.join(unknown)}; a graph file has "
                              '`edges = ["A -> B", ...]` and optionally `nodes = [...]`.')
    edges = doc.get("edges", [])
    if not isinstance(edges, list) or not all(isinstance(e, str) for e in edges):
        raise ImportDataError(f'{path}: edges must be a list of strings like "A -> B".')
    for name in doc.get("nodes", []):
        _check_name(str(name), columns, path, "nodes")
    adj = np.zeros((len(columns), len(columns)), np.int8)
    for k, text in enumerate(edges, start=1):
        parts = [p.strip() for p in text.split("->")]
        if len(parts) < 2 or not all(parts):
            raise ImportDataError(f'{path}: edge {k} is {text!r}; write edges as "A -> B" (a chain '
                                  '"A -> B -> C" is also accepted).')
        idx = [_check_name(p, columns, path, f"edge {k} ({text!r})") for p in parts]
        for i, j in itertools.pairwise(idx):
            if i == j:
                raise ImportDataError(f"{path}: edge {k} ({text!r}) is a self-loop.")
            adj[i, j] = 1
    return adj


def _from_csv(path: Path, columns: Sequence[str]) -> np.ndarray:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [[c.strip() for c in r] for r in csv.reader(f) if any(c.strip() for c in r)]
    if not rows:
        raise ImportDataError(f"{path} is empty; an adjacency CSV has a header of column names.")
    header = rows[0][1:] if rows[0] and rows[0][0] == "" else rows[0]
    idx = [_check_name(h, columns, path, "the header") for h in header]
    if len(rows) - 1 != len(header):
        raise ImportDataError(f"{path}: {len(header)} names in the header but {len(rows) - 1} "
                              "rows; the adjacency matrix must be square.")
    adj = np.zeros((len(columns), len(columns)), np.int8)
    for r, row in enumerate(rows[1:]):
        if len(row) == len(header) + 1:
            if row[0] != header[r]:
                raise ImportDataError(f"{path}, line {r + 2}: row {row[0]!r} should be "
                                      f"{header[r]!r} (rows in the header's order).")
            row = row[1:]
        if len(row) != len(header) or any(c not in ("0", "1") for c in row):
            raise ImportDataError(f"{path}, line {r + 2}: expected {len(header)} entries of 0 or "
                                  "1 (row -> column).")
        for c, cell in enumerate(row):
            if cell == "1":
                if r == c:
                    raise ImportDataError(f"{path}: {header[r]} -> {header[r]} is a self-loop.")
                adj[idx[r], idx[c]] = 1
    return adj


def find_cycle(adj: np.ndarray, names: Sequence[str]) -> list[str] | None:
    """A directed cycle of ``adj`` as names (first repeated at the end), or None for a DAG."""
    state = [0] * len(names)  # 0 new, 1 on the stack, 2 done
    for root in range(len(names)):
        if state[root]:
            continue
        stack: list[tuple[int, list[int]]] = [(root, list(np.flatnonzero(adj[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = int(todo.pop())
            if state[nxt] == 1:
                cyc = [*path[path.index(nxt):], nxt]
                return [names[i] for i in cyc]
            if state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, list(np.flatnonzero(adj[nxt]))))
                path.append(nxt)
    return None


def read_graph(path: str | Path, columns: Sequence[str]) -> np.ndarray:
    """The int8 (V, V) adjacency (row -> column) declared in ``path`` over ``columns``."""
    path = Path(path)
    if not path.is_file():
        raise ImportDataError(f"no such graph file: {path}.")
    if path.suffix.lower() == ".toml":
        adj = _from_toml(path, columns)
    elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
        adj = _from_csv(path, columns)
    else:
        raise ImportDataError(f"{path}: give the graph as a .toml edge list or an adjacency .csv.")
    cycle = find_cycle(adj, columns)
    if cycle:
        raise ImportDataError(f"{path}: the graph has a cycle: {' -> '.join(cycle)}; a causal "
                              "graph must be acyclic.")
    return adj
