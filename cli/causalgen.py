"""The ``causalgen`` command: generate, inspect, preview and merge causal image datasets.

Commands are thin: parse, call one library function, print. User mistakes (a bad spec, an
unknown scene, an existing output) exit with code 2 and a one-paragraph message.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np

from causalgen import __version__
from causalgen.errors import CausalgenError
from cli.common import check_png

EXIT_USER = 2


class Group(click.Group):
    """A click group that turns CausalgenError into exit code 2 and a message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CausalgenError as exc:
            click.echo(f"{ctx.info_name}: error: {exc}", err=True)
            ctx.exit(EXIT_USER)
        except KeyboardInterrupt:
            click.echo(f"{ctx.info_name}: interrupted; no output was left behind.", err=True)
            ctx.exit(130)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="causalgen")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
def main(verbose: bool) -> None:
    """Synthetic causal image datasets with known ground truth."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def parse_assignments(values: tuple[str, ...], option: str) -> dict[str, str | float]:
    """VAR=VALUE pairs; VALUE a number or a distribution such as uniform(0, 1)."""
    out: dict[str, str | float] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"expected VAR=VALUE, got {item!r}", param_hint=option)
        try:
            out[name.strip()] = float(value)
        except ValueError:
            out[name.strip()] = value.strip()
    return out


def parse_counterfactual(values: tuple[str, ...]) -> dict[str, str | float] | str:
    """--counterfactual items: VAR=VALUE pairs (a dict), or, when any item is an intervention
    call such as 'shift(x, 2)', one intervention text joining all of them with '&'."""
    from causalgen.scm.interventions import KINDS

    calls = [v for v in values if v.split("(", 1)[0].strip() in KINDS and "(" in v]
    if not calls:
        return parse_assignments(values, "--counterfactual")
    return " & ".join(v if v in calls else f"do({v})" for v in values)


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


def generation_options(f: Callable) -> Callable:
    opts = [
        click.option("--n", "n", default=10_000, show_default=True, type=click.IntRange(min=1),
                     help="Number of samples."),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
                     help="Output .h5 file [default: <scene>.h5]."),
        click.option("--seed", default=0, show_default=True, type=int),
        click.option("--size", type=click.IntRange(16, 1024), help="Image size in pixels [scene default]."),
        click.option("--workers", type=click.IntRange(min=1), help="Worker processes [CPU count, max 8]."),
        click.option("--spec", "spec_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="TOML spec overriding mechanisms / noise of the scene's variables."),
        click.option("--do", "do", multiple=True, metavar="VAR=VALUE",
                     help="Intervene: a number, or a distribution like 'uniform(60, 80)'. Repeatable."),
        click.option("--counterfactual", "cf", multiple=True, metavar="VAR=VALUE",
                     help="Also write each sample under this intervention (same noise). Repeatable."),
        click.option("--test-fraction", default=0.2, show_default=True, type=click.FloatRange(0, 1, max_open=True)),
        click.option("--compression", default="lzf", show_default=True,
                     type=click.Choice(["lzf", "gzip", "none"])),
        click.option("--shard", metavar="K/N", help="Write only part K of N (1-based); merge with `causalgen merge`."),
        click.option("--overwrite", is_flag=True, help="Replace an existing output file."),
        click.option("--clip", is_flag=True, help="Clip values to the renderable ranges instead of failing."),
        click.option("--intervention-mix", type=click.FloatRange(0, 1), default=0.0,
                     help="Fraction of samples that get do(X_i = a value from X_i's marginal) on one "
                          "random variable; targets are stored in the 'intervened' dataset."),
        click.option("--environments", metavar="SPEC",
                     help="Several regimes in one file, ';'-separated, numbered from 0: 'obs', "
                          "do(X=V), shift(X, D), scale_noise(X, F), mechanism(X, EXPR), joined "
                          "by '&'; or 'per-variable'. Writes the 'environment' dataset."),
        click.option("--environment-sizes", metavar="N0,N1,...",
                     help="Samples per environment (must add up to --n) [equal shares]."),
        click.option("--intervene", metavar="TEXT",
                     help="Hard or soft interventions on the whole file, e.g. "
                          "'shift(shadow_length, 2) & do(light_angle=60)'."),
        click.option("--hide-targets", is_flag=True,
                     help="Store the intervention targets under 'hidden/', which learners do "
                          "not read unless asked (unknown-target methods)."),
        click.option("--dask-scheduler", metavar="ADDRESS",
                     help="Run the blocks on a Dask cluster (tcp://HOST:8786); same bytes as a "
                          "local run. Needs the [dask] extra."),
        click.option("--steps", type=int, default=None,
                     help="Write sequences of this many frames (temporal scenes: [40]); --n "
                          "counts sequences."),
        click.option("--intervention-rate", type=float, default=0.0,
                     help="With --steps: probability that a sequence gets do() on one random "
                          "variable at each step; targets go to 'intervened' (N, T, V)."),
        click.option("--intervention-targets", metavar="A,B,...",
                     help="Variables --intervention-rate may set [all that --do leaves free]."),
        click.option("--counterfactual-from", type=int, default=0, show_default=True,
                     help="With --steps: the step from which --counterfactual applies."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _generate(scene_id: str, scm: Any, scene_kwargs: dict, n: int, out: Path | None, seed: int,
              size: int | None, workers: int | None, do: tuple[str, ...], cf: tuple[str, ...],
              test_fraction: float, compression: str, shard: str | None, overwrite: bool,
              clip: bool, intervention_mix: float = 0.0, environments: str | None = None,
              environment_sizes: str | None = None, intervene: str | None = None,
              hide_targets: bool = False, dask_scheduler: str | None = None,
              steps: int | None = None, intervention_rate: float = 0.0,
              intervention_targets: str | None = None, counterfactual_from: int = 0) -> None:
    from causalgen.generate import BLOCK_SIZE, generate, parse_shard, shard_range

    temporal = _temporal_steps(scene_id, scm, scene_kwargs, steps)
    if temporal is not None or intervention_rate or intervention_targets:
        if intervention_mix:
            raise CausalgenError("--intervention-mix is for still samples; with --steps use "
                                 "--intervention-rate (per-step interventions).")
        if temporal is None:
            raise CausalgenError("--intervention-rate and --intervention-targets need --steps T "
                                 "(sequences).")
        given = [name for name, value in (("--environments", environments),
                 ("--intervene", intervene), ("--hide-targets", hide_targets),
                 ("--dask-scheduler", dask_scheduler)) if value]
        if given:
            raise CausalgenError(f"{', '.join(given)}: not available for sequences (--steps) yet; "
                                 "use --do and --intervention-rate.")
        return _generate_sequences(
            scene_id, scm, scene_kwargs, n=n, out=out, seed=seed, size=size, workers=workers,
            do=do, cf=cf, test_fraction=test_fraction, compression=compression, shard=shard,
            overwrite=overwrite, clip=clip, steps=temporal, intervention_rate=intervention_rate,
            intervention_targets=intervention_targets, counterfactual_from=counterfactual_from)
    shard_t = parse_shard(shard) if shard else None
    if out is None:
        stem = scene_id.rsplit("-v", 1)[0]
        out = Path(f"{stem}-shard{shard_t[0]}of{shard_t[1]}.h5" if shard_t else f"{stem}.h5")
    count = n
    if shard_t:
        _, a, b = shard_range(n, BLOCK_SIZE, *shard_t)
        count = b - a
    with progress_bar(count, f"{scene_id} -> {out}") as update:
        path = generate(scene_id, out, n=n, seed=seed, size=size, workers=workers, scm=scm,
                        scene_kwargs=scene_kwargs, do=parse_assignments(do, "--do"),
                        counterfactual=parse_counterfactual(cf),
                        test_fraction=test_fraction, compression=compression, shard=shard_t,
                        overwrite=overwrite, clip=clip, progress=update,
                        intervention_mix=intervention_mix, environments=environments,
                        environment_sizes=environment_sizes, interventions=intervene,
                        hide_targets=hide_targets, dask_scheduler=dask_scheduler)
    click.echo(f"wrote {path} ({count} samples)")


def _temporal_steps(scene_id: str, scm: Any, scene_kwargs: dict, steps: int | None) -> int | None:
    """--steps, or the scene's default length when its SCM reads lagged values; None: still."""
    if steps is not None:
        return steps
    from causalgen import scenes
    from causalgen.generate_temporal import DEFAULT_STEPS

    scene_obj = scenes.make(scene_id, **scene_kwargs)
    if not (scm or scene_obj.default_scm()).is_dynamic:
        return None
    return scene_obj.default_steps or DEFAULT_STEPS


def _generate_sequences(scene_id: str, scm: Any, scene_kwargs: dict, *, n: int, out: Path | None,
                        seed: int, size: int | None, workers: int | None, do: tuple[str, ...],
                        cf: tuple[str, ...], test_fraction: float, compression: str,
                        shard: str | None, overwrite: bool, clip: bool, steps: int,
                        intervention_rate: float, intervention_targets: str | None,
                        counterfactual_from: int) -> None:
    from causalgen.generate import parse_shard, shard_range
    from causalgen.generate_temporal import generate_sequences, sequences_per_block
    from causalgen.scm.temporal import check_steps

    shard_t = parse_shard(shard) if shard else None
    if out is None:
        stem = scene_id.rsplit("-v", 1)[0]
        out = Path(f"{stem}-shard{shard_t[0]}of{shard_t[1]}.h5" if shard_t else f"{stem}.h5")
    count = n
    if shard_t:
        _, a, b = shard_range(n, sequences_per_block(check_steps(steps)), *shard_t)
        count = b - a
    targets = ([t.strip() for t in intervention_targets.split(",") if t.strip()]
               if intervention_targets else None)
    with progress_bar(count, f"{scene_id} -> {out}") as update:
        path = generate_sequences(
            scene_id, out, n=n, steps=steps, seed=seed, size=size, workers=workers, scm=scm,
            scene_kwargs=scene_kwargs, do=parse_assignments(do, "--do"),
            counterfactual=parse_assignments(cf, "--counterfactual"),
            counterfactual_from=counterfactual_from, intervention_rate=intervention_rate,
            intervention_targets_=targets, test_fraction=test_fraction, compression=compression,
            shard=shard_t, overwrite=overwrite, clip=clip, progress=update)
    click.echo(f"wrote {path} ({count} sequences x {steps} steps)")


def _scene_command(scene_id: str, summary: str) -> click.Command:
    @main.command(name=scene_id.rsplit("-v", 1)[0], help=f"Generate {scene_id}: {summary}.")
    @generation_options
    def command(spec_path: Path | None, **kw: Any) -> None:
        scm = None
        if spec_path is not None:
            from causalgen.scenes.files import load_spec

            loaded = load_spec(spec_path)
            if loaded.scene_id != scene_id:
                raise CausalgenError(
                    f"{spec_path} is a spec over {loaded.scene_id!r}, not {scene_id!r}; use "
                    f"`causalgen scene {spec_path}` to generate it."
                )
            scm = loaded.scm
        _generate(scene_id, scm, {}, **kw)

    return command


_scene_command("pendulum-v1", "a pendulum, a sun and the pendulum's shadow")
_scene_command("flow-v1", "a tank with a ball and a hole, and the jet's landing distance")
_scene_command("pendulum-dynamic-v1", "a damped pendulum swinging under a moving sun (sequences)")
_scene_command("collision-v1", "two balls on a track and their elastic collision (sequences)")


@main.command()
@click.argument("spec_file", metavar="ID|SPEC.toml", type=click.Path(dir_okay=False, path_type=Path))
@generation_options
def scene(spec_file: Path, **kw: Any) -> None:
    """Generate a registered scene (an id such as pendulum-dynamic-v1) or from a spec file (a
    built-in scene with overrides, or a custom scene)."""
    from causalgen import scenes
    from causalgen.scenes.files import load_spec

    if kw.pop("spec_path", None) is not None:
        raise click.BadParameter("give the spec as the argument, not also as --spec", param_hint="--spec")
    if not spec_file.exists() and spec_file.suffix != ".toml":  # a registered scene id
        scenes.entry(str(spec_file))  # an unknown id gets a "did you mean"
        _generate(str(spec_file), None, {}, **kw)
        return
    loaded = load_spec(spec_file)
    if kw.get("out") is None and loaded.scene_kwargs:  # a custom scene: name the file after it
        kw["out"] = Path(f"{spec_file.stem}.h5")
    _generate(loaded.scene_id, loaded.scm, loaded.scene_kwargs, **kw)


@main.command(name="list")
def list_command() -> None:
    """List the registered scenes."""
    from causalgen import scenes

    for sid in scenes.list_scenes():
        click.echo(f"{sid:<20} {scenes.entry(sid).summary}")


@main.command()
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
        }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    what = "sequences" if doc["time"] else "images"
    click.echo(f"{doc['path']}: {doc['scene']}, {doc['n']} {what} {doc['image_shape']} "
               f"({doc['compression']}), train {doc['train']} / test {doc['test']}, seed {doc['seed']}")
    if doc["intervention"]:
        click.echo(f"intervention: {doc['intervention']}")
    if doc["counterfactual"]:
        cf_text = doc["counterfactual"].get("text") or f"do {doc['counterfactual']}"
        click.echo(f"counterfactual group: {cf_text}")
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
    click.echo(f"{'variable':<18} {'unit':<14} {'range':<18} {'min':>9} {'mean':>9} {'max':>9}")
    for v in doc["variables"]:
        rng = f"[{v['low']:g}, {v['high']:g}]"
        click.echo(f"{v['name']:<18} {v['unit']:<14} {rng:<18} {v['min']:>9.4g} {v['mean']:>9.4g} {v['max']:>9.4g}")
    click.echo(("instantaneous graph: " if doc["time"] else "graph: ")
               + (", ".join(doc["edges"]) or "no edges"))


@main.command()
@click.argument("path", metavar="FILE.h5", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="PNG to write [FILE.png].")
@click.option("--n", "n", default=16, show_default=True, type=click.IntRange(1, 256))
@click.option("--cols", default=4, show_default=True, type=click.IntRange(1, 32))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--counterfactual", is_flag=True, help="Show each counterfactual twin after its sample.")
def show(path: Path, out: Path | None, n: int, cols: int, seed: int, counterfactual: bool) -> None:
    """Write a labelled grid of random samples as a PNG."""
    from causalgen.preview import preview_grid

    out = out or path.with_suffix(".png")
    check_png(out)
    preview_grid(path, n=n, cols=cols, seed=seed, counterfactual=counterfactual).save(out)
    click.echo(f"wrote {out}")


@main.command()
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
@main.command()
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


@main.command()
@click.argument("target", metavar="SPEC_OR_SCENE")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="graph.png (a drawing) or graph.dot (DOT text) [DOT on stdout].")
def graph(target: str, out: Path | None) -> None:
    """Draw the causal graph of a spec file, a dataset (.h5) or a registered scene id."""
    from causalgen.graphviz import graph_of

    g = graph_of(target)
    if out is None:
        click.echo(g.dot(), nl=False)
        return
    click.echo(f"wrote {g.write(out)}")


@main.command(name="export")
@click.argument("path", metavar="FILE.h5", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", default="causalvae-folders", show_default=True,
              type=click.Choice(["causalvae-folders", "npz"]))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Directory (causalvae-folders) or .npz file to write.")
@click.option("--variables", metavar="A,B,...", help="Label columns, in order [all].")
@click.option("--size", default=96, show_default=True, type=click.IntRange(16, 1024),
              help="Image size of causalvae-folders (the reference loaders expect 96).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
def export_command(path: Path, fmt: str, out: Path, variables: str | None, size: int,
                   overwrite: bool) -> None:
    """Export a dataset: CausalVAE's train/ and test/ PNG folders, or one .npz file."""
    from causalgen.export import export
    from causalgen.io import open_dataset

    names = [v.strip() for v in variables.split(",")] if variables else None
    with open_dataset(path) as ds:
        total = ds.n
    with progress_bar(total, f"{path} -> {out}") as update:
        written = export(path, out, fmt, variables=names, size=size, overwrite=overwrite,
                         progress=update)
    click.echo(f"wrote {written} ({total} samples, {fmt})")


@main.command(name="import")
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
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True),
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


if __name__ == "__main__":  # pragma: no cover
    main()
