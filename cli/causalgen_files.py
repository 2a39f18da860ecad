"""The ``causalgen`` commands over existing files: info, show, merge, validate, graph, export, import.

Each is a plain click command that :mod:`cli.causalgen` adds to its group (which turns a
CausalgenError into exit code 2 and one message). Commands are thin: parse, call one library
function, print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from cli.common import FiniteFloat, check_figure, environment_lines, progress_bar


@click.command()
@click.argument("path", metavar="FILE.h5", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(path: Path, as_json: bool) -> None:
    """Describe a dataset: scene, size, variables, graph, split, intervention."""
    from causalgen.io import open_dataset
    from causalgen.io.temporal import time_axis

    with open_dataset(path) as ds:
        train = int((ds.split == 0).sum())
        labels = ds.labels.reshape(-1, len(ds.variables))  # every frame of a temporal file
        doc = {
            "path": str(path),
            "scene": ds.scene,
            "n": ds.n,
            "image_shape": list(ds.images.shape[1:]),
            "compression": ds.images.compression or "none",
            "train": train,
            "test": ds.n - train,
            "seed": ds.seed,
            "generator_version": ds.generator_version,
            "intervention": ds.intervention,
            "shard": ds.shard,
            "variables": [
                {**v.to_dict(), "min": float(labels[:, i].min()), "max": float(labels[:, i].max()),
                 "mean": float(labels[:, i].mean())}
                for i, v in enumerate(ds.variables)
            ],
            "adjacency": ds.adjacency.tolist(),
            "edges": [f"{ds.variable_names[i]} -> {ds.variable_names[j]}"
                      for i, j in zip(*np.nonzero(ds.adjacency), strict=True)],
            "counterfactual": ds.counterfactual.intervention if ds.counterfactual else None,
            "environments": ds.environments,
            "targets_hidden": ds.targets_hidden,
            "time": time_axis(ds),
            "intervention_mix": _intervention_mix(ds),
        }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    what = "sequences" if doc["time"] else "images"
    click.echo(f"{doc['path']}: {doc['scene']}, {doc['n']} {what} {doc['image_shape']} "
               f"({doc['compression']}), train {doc['train']} / test {doc['test']}, seed {doc['seed']}")
    if doc["intervention"]:
        click.echo(f"intervention on every sample: {_do_text(doc['intervention'])}")
    mix = doc["intervention_mix"]
    if mix:
        click.echo(f"per-sample interventions: {mix['samples']} of {doc['n']} samples "
                   f"({mix['samples'] / max(doc['n'], 1):.0%}) have one variable set by do(): "
                   + ", ".join(f"{k} {v}" for k, v in mix["per_variable"].items()))
    if doc["counterfactual"]:
        cf_text = doc["counterfactual"].get("text") or _do_text(doc["counterfactual"])
        click.echo(f"counterfactual group: {cf_text} (the same units, the same noise)")
    if doc["shard"]:
        click.echo(f"shard: {doc['shard']}")
    for line in environment_lines(doc["environments"], doc["targets_hidden"], ds.variable_names,
                                  doc["adjacency"]):
        click.echo(line)
    if doc["time"]:
        tm = doc["time"]
        click.echo(f"time axis: {doc['n']} sequences x {tm['steps']} steps = {tm['frames']} frames; "
                   "images (N, T, H, W, 3), labels (N, T, V)")
        if tm["intervention_rate"]:
            click.echo(f"per-step interventions: rate {tm['intervention_rate']['rate']:g}, "
                       f"{tm['intervened_fraction_of_steps']:.1%} of steps intervened "
                       f"({', '.join(f'{k} {v}' for k, v in tm['intervened_per_variable'].items())})")
        if "counterfactual_from" in tm:
            click.echo(f"counterfactual applied from step {tm['counterfactual_from']}")
        click.echo("lagged graph: " + (", ".join(tm["lagged_edges"]) or "no edges"))
    # columns as wide as the longest name / unit, so long names keep the table aligned
    nw = max([18] + [len(v["name"]) for v in doc["variables"]])
    uw = max([14] + [len(v["unit"]) for v in doc["variables"]])
    click.echo(f"{'variable':<{nw}} {'unit':<{uw}} {'range':<18} {'min':>9} {'mean':>9} {'max':>9}")
    for v in doc["variables"]:
        rng = f"[{v['low']:g}, {v['high']:g}]"
        click.echo(f"{v['name']:<{nw}} {v['unit']:<{uw}} {rng:<18} {v['min']:>9.4g} {v['mean']:>9.4g} "
                   f"{v['max']:>9.4g}")
    click.echo(("instantaneous graph" if doc["time"] else "graph")
               + " (before any intervention): " + (", ".join(doc["edges"]) or "no edges"))


def _do_text(assignments: dict[str, Any]) -> str:
    return "do(" + ", ".join(f"{k} = {v:g}" if isinstance(v, (int, float)) else f"{k} ~ {v}"
                             for k, v in assignments.items()) + ")"


def _intervention_mix(ds: Any) -> dict[str, Any] | None:
    """How many samples an --intervention-mix file intervened on, in all and per variable."""
    if ds.intervened is None:
        return None
    mask = np.asarray(ds.intervened) != 0  # (N, V); a temporal file's (N, T, V) is in "time"
    if mask.ndim != 2:
        return None
    return {"samples": int(mask.any(1).sum()),
            "per_variable": {name: int(c) for name, c in
                             zip(ds.variable_names, mask.sum(0).tolist(), strict=True)}}


@click.command()
@click.argument("path", metavar="FILE.h5", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Figure to write: .png (300 dpi), .pdf or .svg [FILE.png].")
@click.option("--n", "n", default=16, show_default=True, type=click.IntRange(1, 256))
@click.option("--cols", default=4, show_default=True, type=click.IntRange(1, 32))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--counterfactual", is_flag=True, help="Show each counterfactual twin after its sample.")
def show(path: Path, out: Path | None, n: int, cols: int, seed: int, counterfactual: bool) -> None:
    """Write a labelled grid of random samples (intervened samples marked) as a figure."""
    from causalgen.figures.samples import sample_grid
    from causalgen.figures.style import save

    out = out or path.with_suffix(".png")
    check_figure(out)
    save(sample_grid(path, n=n, cols=cols, seed=seed, counterfactual=counterfactual), out)
    click.echo(f"wrote {out}")


@click.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True)
@click.option("--virtual", is_flag=True,
              help="Write HDF5 virtual datasets over the shards (no copy; keep the shards beside it).")
def merge(shards: tuple[Path, ...], out: Path, overwrite: bool, virtual: bool) -> None:
    """Merge the shards of one `--shard K/N` generation into a single file (a full copy, or
    with --virtual a small file mapping onto the shards)."""
    if virtual:
        from causalgen.io.virtual import merge_virtual

        path = merge_virtual(shards, out, overwrite=overwrite)
        click.echo(f"wrote {path}: virtual datasets over {len(shards)} shards (no copy)")
        return
    from causalgen.io.merge import merge_shards

    path = merge_shards(shards, out, overwrite=overwrite)
    click.echo(f"wrote {path} from {len(shards)} shards")


# -- issue 3 commands --
@click.command()
@click.argument("spec_file", metavar="SPEC.toml", type=click.Path(dir_okay=False, path_type=Path))
def validate(spec_file: Path) -> None:
    """Check a spec file (custom scene or overrides of a scene) without generating."""
    from causalgen.scenes.validate import check_spec

    check = check_spec(spec_file)
    for line in check.summary():
        click.echo(line)
    for message in check.warnings:
        click.echo(f"warning: {message}", err=True)
    click.echo(f"ok ({len(check.warnings)} warning{'s' if len(check.warnings) != 1 else ''})")


@click.command()
@click.argument("target", metavar="SPEC_OR_SCENE")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="graph.png / .pdf / .svg (a drawing) or graph.dot (DOT text) [DOT on stdout].")
def graph(target: str, out: Path | None) -> None:
    """Draw the causal graph of a spec file, a dataset (.h5) or a registered scene id.

    The graph is the one before any intervention; a dataset's do() variables are marked and
    the edges into them drawn as cut. Drawings are laid out by Graphviz `dot` when installed.
    """
    from causalgen.graphviz import graph_of

    g = graph_of(target)
    if out is None:
        click.echo(g.dot(), nl=False)
        return
    click.echo(f"wrote {g.write(out)}")


@click.command(name="export")
@click.argument("path", metavar="FILE.h5", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", default="causalvae-folders", show_default=True,
              type=click.Choice(["causalvae-folders", "npz", "hf", "webdataset"]))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Directory (causalvae-folders, hf, webdataset) or .npz file to write.")
@click.option("--variables", metavar="A,B,...", help="Label columns, in order [all].")
@click.option("--size", default=96, show_default=True, type=click.IntRange(16, 1024),
              help="Image size of causalvae-folders (the reference loaders expect 96).")
@click.option("--shard-size", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="Samples per tar shard (webdataset).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
def export_command(path: Path, fmt: str, out: Path, variables: str | None, size: int,
                   shard_size: int, overwrite: bool) -> None:
    """Export a dataset: CausalVAE's PNG folders, a dSprites-like .npz, a HuggingFace
    `datasets` directory (hf) or webdataset tar shards."""
    from causalgen.export import export
    from causalgen.io import open_dataset

    names = [v.strip() for v in variables.split(",")] if variables else None
    with open_dataset(path) as ds:
        total = ds.n
    with progress_bar(total, f"{path} -> {out}") as update:
        written = export(path, out, fmt, variables=names, size=size, overwrite=overwrite,
                         progress=update, shard_size=shard_size)
    click.echo(f"wrote {written} ({total} samples, {fmt})")


@click.command(name="import")
@click.argument("source", metavar="SOURCE", type=click.Path(path_type=Path))
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "csv", "celeba"]),
              help="celeba: SOURCE is CelebA's root (img_align_celeba/, list_attr_celeba.txt, "
                   "list_eval_partition.txt); auto detects it.")
@click.option("--labels", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with a header: an image column and label columns [SOURCE if a CSV].")
@click.option("--image-column", help="Column of --labels naming the image files "
                                     "[image/image_id/file/filename/path, else the first].")
@click.option("--columns", metavar="A,B,...", help="Label columns to import, in order [all].")
@click.option("--graph", type=click.Path(dir_okay=False, path_type=Path),
              help='Declared graph: TOML `edges = ["A -> B"]` or an adjacency CSV with names.')
@click.option("--name", help="Dataset name: scene = external/NAME [folder or CSV name].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output .h5 [NAME.h5].")
@click.option("--size", default=64, show_default=True, type=click.IntRange(8, 1024),
              help="Output image side in pixels.")
@click.option("--crop", type=click.IntRange(min=1),
              help="Side of the centred square cut from each image before resizing, in source "
                   "pixels [the largest centred square].")
@click.option("--test-fraction", type=FiniteFloat(0, 1, max_open=True),
              help="Random test split [CelebA: its partition file; else 0.2].")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random split.")
@click.option("--skip-bad", is_flag=True,
              help="Leave out images that fail to decode and label rows with no image.")
@click.option("--workers", type=click.IntRange(min=1), help="Decoding processes [CPU count, max 8].")
@click.option("--compression", default="lzf", show_default=True,
              type=click.Choice(["lzf", "gzip", "none"]))
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def import_command(source: Path, fmt: str, labels: Path | None, image_column: str | None,
                   columns: str | None, graph: Path | None, name: str | None, out: Path | None,
                   size: int, crop: int | None, test_fraction: float | None, seed: int,
                   skip_bad: bool, workers: int | None, compression: str, overwrite: bool) -> None:
    """Import your own images and labels (a folder or a CSV of paths, or CelebA) as a dataset."""
    from causalgen.external import import_images

    cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    r = import_images(source, out, fmt=fmt, labels=labels, image_column=image_column,
                      columns=cols, graph=graph, name=name, size=size, crop=crop,
                      test_fraction=test_fraction, seed=seed, skip_bad=skip_bad, workers=workers,
                      compression=compression, overwrite=overwrite)
    click.echo(f"wrote {r.path} ({r.n} images {size}x{size}, train {r.train} / test {r.test}, "
               f"{r.n / max(r.seconds, 1e-9):.0f} images/s)")
    binary = f"; binary (stored as 0/1): {len(r.binary)}" if r.binary else ""
    click.echo(f"labels: {', '.join(r.columns)}{binary}")
    if r.graph_declared:
        click.echo("graph: " + (", ".join(r.edges) or "declared, no edges"))
    else:
        click.echo("graph: none declared, so the file's graph is empty (no edges); pass --graph "
                   "to declare one")
    if r.skipped:
        shown = ", ".join(f"{f} ({why})" for f, why in r.skipped[:5])
        more = f" and {len(r.skipped) - 5} more" if len(r.skipped) > 5 else ""
        click.echo(f"skipped {len(r.skipped)}: {shown}{more}", err=True)


FILE_COMMANDS = [info, show, merge, validate, graph, export_command, import_command]
