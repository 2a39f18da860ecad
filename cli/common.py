"""Helpers shared by the causalgen and causalvae commands: output checks, progress, descriptions,
and the error style of both."""

from __future__ import annotations

import math
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from causalgen.errors import CausalgenError
from causalgen.io.safefs import os_error


class FiniteFloat(click.FloatRange):
    """click's FloatRange that also refuses nan and inf (NaN passes every range comparison, so
    a plain FloatRange lets ``--label-fraction nan`` through as if it were 1)."""

    name = "float"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        rv = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(rv, param, ctx)


def error_line(prog: str, message: str) -> str:
    """How both CLIs print a user mistake (then exit with status 2): ``PROG: error: MESSAGE``."""
    return f"{prog}: error: {message}"


@contextmanager
def progress_bar(total: int, label: str):
    """A click progress bar on a terminal; a no-op callback otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                           show_eta=True) as bar:
        yield bar.update


def environment_lines(records: list[dict] | None, hidden: bool, names: list[str],
                      base: list[list[int]]) -> list[str]:
    """`info`'s description of a file's environments: one line each, with the graph where it
    differs from the file's graph ``base``."""
    if not records:
        return ["targets: hidden (hidden/ group; --hide-targets)"] if hidden else []
    out = [f"environments: {len(records)}, rows in contiguous runs"
           + (" (targets hidden: hidden/ group)" if hidden else "")]
    for r in records:
        line = f"  {r['index']:>3}  {r.get('size', 0):>8} samples  [{r.get('start')}, {r.get('stop')})"
        if "text" in r:
            line += f"  {r['text']}"
            if r.get("targets"):
                line += f"  (targets: {', '.join(r['targets'])})"
            if "adjacency" in r and r["adjacency"] != base:
                edges = [f"{names[i]} -> {names[j]}" for i, row in enumerate(r["adjacency"])
                         for j, a in enumerate(row) if a]
                line += f"; graph: {', '.join(edges) or 'no edges'}"
        out.append(line)
    return out


def check_figure(out: Path) -> None:
    """Refuse a figure output (.png, .pdf or .svg) whose name or directory cannot work, and a
    missing matplotlib, before any work is done."""
    from causalgen.figures.style import SUFFIXES, pyplot

    if out.suffix.lower() not in SUFFIXES:
        raise CausalgenError(f"--out {out}: give a .png, .pdf or .svg file name.")
    if not out.parent.exists():
        raise CausalgenError(f"--out {out}: the directory {out.parent} does not exist.")
    pyplot()  # FigureError naming the install when the figures extra is missing


def os_error_message(exc: OSError) -> str | None:
    """One clear message for a full disk or an unwritable place, or None (then it is a bug)."""
    mapped = os_error(exc, exc.filename or "the output")
    return None if mapped is None else str(mapped)
