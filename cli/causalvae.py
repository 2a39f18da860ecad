"""``causalvae``: train CausalVAE and its baselines on causalgen datasets.

Thin commands over the library: options become ``key=value`` overrides of a
:class:`~causalvae.config.RunConfig`, then one library call. A mistake the user can fix (missing
or foreign file, unknown model or key, impossible batch size, a run directory that already holds a
run) exits with status 2 and a one-paragraph message, without a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Collection
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from causalgen.errors import CausalgenError
from causalvae import __version__
from causalvae.errors import CausalvaeError
from cli.common import FiniteFloat, error_line, os_error_message

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A user mistake: printed as ``causalvae: error: ...`` (the style of both CLIs) and exit
    status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(error_line("causalvae", self.format_message()), err=True)


def user_errors(func: F) -> F:
    """Turn causalgen/causalvae errors into :class:`UserError`; Ctrl-C into exit status 130."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (CausalgenError, CausalvaeError) as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:  # a full disk or a read-only place: one message
            message = os_error_message(exc)
            if message is None:
                raise
            raise UserError(message) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="causalvae")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """Train CausalVAE (Yang et al., 2021) and its baselines on causalgen datasets."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(message)s", stream=sys.stderr)


# option name -> config key; None values mean "not given" so --resume can tell them apart
_OPTION_KEYS = {
    "model": "model", "epochs": "epochs", "batch_size": "batch_size", "lr": "lr",
    "device": "device", "seed": "seed", "image_size": "image_size", "arch": "arch",
    "label_fraction": "label_fraction",
}


def _refuse_option_and_set(given: dict[str, tuple[str, Any]], set_: tuple[str, ...],
                           scopes: Collection[str] = ()) -> None:
    """An option and a --set item naming the same key: a usage error, not a silent winner.

    ``given`` maps config keys to the (option name, value) the user typed. Items scoped by one
    of ``scopes`` (``MODEL.KEY=`` in an experiment: one model's override of a flag) are kept."""
    for item in set_:
        key = item.split("=", 1)[0].strip()
        prefix, _, name = key.rpartition(".")
        if name in given and prefix not in scopes:
            option, value = given[name]
            raise click.UsageError(f"--{option.replace('_', '-')} {value} and --set {item} both "
                                   f"set {name}; give it once.")


@main.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", help="Model name (see `causalvae models`).  [default: causalvae, the "
              "recommended model]")
@click.option("--epochs", type=int, help="Training epochs.  [default: 50]")
@click.option("--batch-size", type=int, help="Images per batch (per process).  [default: 128]")
@click.option("--lr", type=FiniteFloat(0, min_open=True), help="Adam learning rate.  [default: 1e-3]")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]),
              help="Where to train; auto picks CUDA when present.  [default: auto]")
@click.option("--seed", type=int, help="Seed of initialisation, data order and noise.  [default: 0]")
@click.option("--image-size", type=int,
              help="Model input size; images are resized on the device.  [default: 64]")
@click.option("--arch", type=click.Choice(["conv", "reference"]),
              help="conv, or the public code's MLP sizes (reference).  [default: conv]")
@click.option("--label-fraction", type=FiniteFloat(0, 1, min_open=True),
              help="Share of the training images that keep their labels (seeded by --seed, "
                   "saved as labelled.npy).  [default: 1]")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE",
              help="Any config key, e.g. --set alpha=1 --set checkpoint_every=1.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory.  [default: runs/MODEL-DATASTEM]")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@user_errors
def train(data: Path, set_: tuple[str, ...], out: Path | None, resume: bool,
          **options: Any) -> None:
    """Train a model on DATA (a causalgen .h5 file) into a run directory.

    The run directory gets config.json, checkpoint.pt, metrics.jsonl, recon.png, and A.npy for
    models with a causal layer. Under torchrun, each process trains on its share of the data.
    """
    from causalvae.config import RunConfig, apply_overrides
    from causalvae.train import train as run_training

    given = {_OPTION_KEYS[k]: (k, v) for k, v in options.items() if v is not None}
    _refuse_option_and_set(given, set_)
    items = [f"{key}={v}" for key, (_, v) in given.items()]
    items += list(set_)
    config = RunConfig.default(options["model"] or "causalvae")
    if not resume:  # a resumed run checks the items against its own saved config instead
        config = apply_overrides(config, items)  # before any file is touched
    out = out or Path("runs") / f"{config.train.model}-{data.stem}"
    config.train.out = str(out)
    result = run_training(config, data, resume=resume, overrides=items)
    if result.interrupted:
        click.echo(f"interrupted after epoch {result.epochs}; checkpoint saved in {out}; "
                   "continue with --resume", err=True)
        sys.exit(130)
    last = result.history[-1] if result.history else None
    summary = f", final loss {last['loss']:.4g}" if last else ""
    click.echo(f"{out}: {result.epochs} epochs, {result.global_step} steps{summary}")


@main.command()
def models() -> None:
    """List the registered models (aliases in brackets)."""
    from causalvae.models import ALIASES, MODELS, list_models

    for name in list_models():
        doc = (MODELS[name].__doc__ or "").strip().splitlines()
        aliases = [a for a, target in ALIASES.items() if target == name]
        also = f" [alias: {', '.join(aliases)}]" if aliases else ""
        click.echo(f"{name:<16} {doc[0] if doc else ''}{also}")
    from causalvae.baselines import BASELINES

    click.echo("label-only baselines (no images, no training; `experiment --models` only):")
    for name in sorted(BASELINES):
        click.echo(f"{name:<16} {BASELINES[name].description}")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The run's dataset [the one recorded in RUN_DIR/run.json].")
@click.option("--n-eval", default=1000, show_default=True, type=click.IntRange(min=20),
              help="Held-out samples for the representation metrics.")
@click.option("--n-cf", default=256, show_default=True, type=click.IntRange(min=8),
              help="Held-out samples for counterfactual fidelity.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE",
              help="Evaluation key: graph_threshold (cut |A| here), marginal_samples (label "
                   "vectors a label-fed encoder is averaged over).")
@click.option("--json", "as_json", is_flag=True, help="Print the full evaluation as JSON.")
@user_errors
def evaluate(run_dir: Path, data: Path | None, n_eval: int, n_cf: int, seed: int,
             set_: tuple[str, ...], as_json: bool) -> None:
    """Evaluate a run against its data's true graph and ground-truth counterfactuals.

    Every representation metric is computed from the image alone (a label-fed encoder has its
    labels marginalised; the scores with labels fed are under label_fed). Writes
    RUN_DIR/evaluation.json and RUN_DIR/figures/adjacency.png and prints a short table.
    """
    from causalvae.evaluate import evaluate as run_evaluation

    r = run_evaluation(run_dir, data, n_eval=n_eval, n_cf=n_cf, seed=seed, settings=list(set_))
    _adjacency_png(run_dir)
    if as_json:
        click.echo(json.dumps(r, indent=2, default=str))
        return
    click.echo(f"{run_dir}: {r['model']} after {r['epoch']} epochs, {r['n_eval']} held-out samples"
               f" ({r['encoding']})")
    _echo_graph(r)
    _echo_representation(r)
    if r.get("label_fed"):
        f = r["label_fed"]
        click.echo(f"  with labels fed: MCC {f['mcc']:.3f}  R2 linear {f['r2_linear']:.3f}  "
                   f"MIC {f['mic']:.3f}")
    if r.get("graph_source") == "none declared":
        click.echo("  (no graph was declared at import: the graph metrics compare with an empty "
                   "graph)")
    cf = r["counterfactual"] or {"skipped": "no counterfactuals"}
    if "skipped" in cf:
        click.echo(f"  counterfactual fidelity skipped: {cf['skipped']}")
    else:
        click.echo(f"  counterfactual pixel MSE (floor: reconstruction {cf['recon_mse_floor']:.4f}):")
        for name, v in cf["per_concept"].items():
            click.echo(f"    do({name}): {v['pixel_mse']:.4f}   probe RMSE {v['probe_rmse']:.3f}")
    click.echo(f"wrote {run_dir / 'evaluation.json'} and {run_dir / 'figures' / 'adjacency.png'}")


def _adjacency_png(run_dir: Path) -> None:
    """RUN/figures/adjacency.png (learned |A| beside the true graph), if matplotlib is there."""
    from causalgen.figures import have_matplotlib

    if not have_matplotlib():
        click.echo("matplotlib is not installed: no adjacency figure (pip install "
                   "'causalgen[figures]')", err=True)
        return
    from causalvae.figures.run import write_run_figures

    write_run_figures(run_dir, which=("adjacency",))


def _num(v: Any, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def _echo_graph(r: dict[str, Any]) -> None:
    if r.get("shd") is None:
        click.echo("  graph   - (no causal layer)" if "learned_adjacency" in r else "")
        return
    click.echo(f"  graph   SHD {r['shd']}  SHD vs {r['equivalence_class']} {_num(r['shd_cpdag'], 'd')}"
               f"  precision {r['precision']:.2f}  recall {r['recall']:.2f}  AUROC "
               f"{_num(r.get('auroc'), '.2f')}  SID {_num(r.get('sid'), '.0f')}  (threshold "
               f"{_num(r.get('threshold'), '.3g')})")
    for flag in r.get("graph_flags") or ():
        click.echo(f"  note: {flag}")


def _echo_representation(r: dict[str, Any]) -> None:
    click.echo(f"  MCC {r['mcc']:.3f} (Spearman {r['mcc_spearman']:.3f})  R2 linear "
               f"{r['r2_linear']:.3f}  nonlinear {r['r2_nonlinear']:.3f}")
    click.echo(f"  MIC {r['mic']:.3f}  TIC {r['tic_norm']:.3f} (normalised)  MIG {_num(r['mig'])}"
               f"  DCI {r['dci_d']:.2f} / {r['dci_c']:.2f} / {r['dci_i']:.2f}")
    for name, p in r["per_factor"].items():
        click.echo(f"    {name:<20} MCC {p['mcc']:.3f}  R2 {p['r2_linear']:.3f} / "
                   f"{p['r2_nonlinear']:.3f}  MIC {p['mic']:.3f}")


@main.command("evaluate-latents")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("latents", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--graph", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Learned graph: (V, V) .npy, or .csv with a header of variable names; "
                   "[i, j] != 0 is an edge i -> j, 0/1 or weighted.")
@click.option("--split", default="all", show_default=True,
              type=click.Choice(["all", "train", "test"]),
              help="Which rows LATENTS holds (that split's rows in file order).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for evaluation.json [LATENTS_STEM-evaluation beside LATENTS].")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE",
              help="Evaluation key: graph_threshold (cut a weighted graph's |A| here).")
@user_errors
def evaluate_latents(data: Path, latents: Path, graph: Path | None, split: str, out: Path | None,
                     seed: int, set_: tuple[str, ...]) -> None:
    """Score a representation from any model: LATENTS (.npy, float (N, d)) against DATA's labels.

    Row i of LATENTS belongs to row i of DATA (or of --split). Writes OUT/evaluation.json with
    MCC, R2, MIC / TIC, DCI, MIG and, with --graph, SHD against the DAG and its equivalence
    class, precision, recall, SID and (weighted input) AUROC.
    """
    from causalgen.io import open_dataset
    from causalvae.evaluate import eval_settings
    from causalvae.protocol import evaluate_latents as run_latents
    from causalvae.protocol import load_graph, load_latents

    opts = eval_settings(list(set_))
    z = load_latents(latents)
    A = None
    if graph is not None:
        with open_dataset(data) as ds:
            A = load_graph(graph, ds.variable_names)
    out = out or latents.parent / f"{latents.stem}-evaluation"
    r = run_latents(data, z, graph=A, split=split, graph_threshold=opts["graph_threshold"],
                    seed=seed, out=out)
    click.echo(f"{latents}: {r['latent_dim']} latent dimensions, {r['n_rows']} rows ({split}), "
               f"{r['n_samples']} scored")
    _echo_representation(r)
    if A is not None:
        _echo_graph(r)
    click.echo(f"wrote {out / 'evaluation.json'}")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The run's dataset [the one recorded in RUN_DIR/run.json].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Figure to write, .png / .pdf / .svg [RUN_DIR/figures/interventions.png].")
@click.option("--index", type=click.IntRange(min=0), help="Sample index in the file [a test sample].")
@click.option("--steps", default=7, show_default=True, type=click.IntRange(2, 16))
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE",
              help="Evaluation key: graph_threshold (the graph do() follows).")
@user_errors
def intervene(run_dir: Path, data: Path | None, out: Path | None, index: int | None,
              steps: int, set_: tuple[str, ...]) -> None:
    """A grid of do-operations: one row per concept over its range, truth row beneath."""
    from causalgen.figures.style import save
    from causalvae.figures.interventions import intervention_rows, interventions_figure
    from cli.common import check_figure

    default_out = out is None
    if out is None:
        out = run_dir / "figures" / "interventions.png"
    else:
        check_figure(out)  # a CausalgenError: exit 2 like every user mistake
    fig = interventions_figure(intervention_rows(run_dir, data, index=index, steps=steps,
                                                 settings=list(set_)))
    if default_out:  # made only once the run has loaded: a non-run directory stays untouched
        out.parent.mkdir(exist_ok=True)
    save(fig, out)
    click.echo(f"wrote {out}")
    from causalgen.io import open_dataset
    from causalgen.truth import truth_unavailable
    from causalvae.evaluate import resolve_data

    with open_dataset(resolve_data(run_dir, data)) as ds:
        reason = truth_unavailable(ds)
    if reason:
        click.echo(f"no ground-truth rows in the grid: {reason}")


@main.command()
@click.argument("path", metavar="RUN_OR_EXPERIMENT_DIR",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A run's dataset [the one recorded in RUN_DIR/run.json].")
@click.option("--format", "fmt", default="png", show_default=True,
              type=click.Choice(["png", "pdf", "svg"]), help="File type (png at 300 dpi).")
@click.option("--only", metavar="NAME,...",
              help="Some of adjacency, graph, interventions, curves, recon [all].")
@user_errors
def figures(path: Path, data: Path | None, fmt: str, only: str | None) -> None:
    """Draw a run's figures into RUN_DIR/figures/, or an experiment's (summary and each model's
    first seed) into OUT/figures/ and the runs' folders, then rewrite its report."""
    from causalgen.figures.style import pyplot
    from causalvae.figures.run import RUN_FIGURES, write_run_figures

    pyplot()  # the figures extra is installed, or one clear message
    if (path / "report.json").exists():
        from causalvae.figures.run import write_experiment_figures
        from causalvae.report import write_report

        report = json.loads((path / "report.json").read_text())
        report["figures"] = write_experiment_figures(path, report, suffix=f".{fmt}")
        write_report(path, report)
        n = 1 + sum(len(v) for v in report["figures"]["models"].values())
        click.echo(f"wrote {n} figures under {path} and rewrote {path / 'report.md'}")
        return
    which = [w.strip() for w in only.split(",")] if only else list(RUN_FIGURES)
    for written in write_run_figures(path, data, which=which, suffix=f".{fmt}"):
        click.echo(f"wrote {written}")


@main.command()
@click.argument("target", metavar="SCENE_SPEC_OR_FILE")
@click.option("--n", "n", default=10_240, show_default=True, type=click.IntRange(min=100))
@click.option("--seeds", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--first-seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seeds run from here: --first-seed 100 --seeds 3 runs 100, 101, 102 "
                   "(keep development seeds apart from the ones you report).")
@click.option("--models", default="causalvae,conditionvae,betavae", show_default=True,
              help="Comma-separated model names: the recommended causalvae and baselines.")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--image-size", default=64, show_default=True, type=click.IntRange(32, 128))
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(min=1))
@click.option("--intervention-mix", default=0.5, show_default=True, type=FiniteFloat(0, 1),
              help="Fraction of samples with one variable set by do() (see causalgen); "
                   "it identifies the directions observational data leave open.")
@click.option("--device", default="auto", show_default=True,
              type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--label-fraction", default=1.0, show_default=True,
              type=FiniteFloat(0, 1, min_open=True),
              help="Share of the training images whose labels label-fed models see (seeded).")
@click.option("--set", "set_", multiple=True, metavar="[MODEL.]KEY=VALUE",
              help="Config override for every model that has KEY, or for MODEL only.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Experiment directory [experiments/NAME].")
@user_errors
def experiment(target: str, n: int, seeds: int, first_seed: int, models: str, epochs: int, image_size: int,
               batch_size: int, intervention_mix: float, device: str, label_fraction: float,
               set_: tuple[str, ...],
               out: Path | None) -> None:
    """Generate data, train every model on every seed, evaluate, and write a report.

    SCENE_SPEC_OR_FILE is a scene id (pendulum-v1), a spec file, or a dataset file (.h5, e.g.
    from `causalgen import`: every seed trains on it; --n and --intervention-mix do not apply).
    Rerunning the same command skips finished runs and resumes interrupted ones.
    """
    from causalvae.experiment import ExperimentConfig, run_experiment
    from causalvae.models import ALIASES, list_models

    ctx = click.get_current_context()
    given = {k: (k, v) for k, v in (("epochs", epochs), ("image_size", image_size),
                                    ("batch_size", batch_size), ("device", device),
                                    ("label_fraction", label_fraction))
             if ctx.get_parameter_source(k) is click.core.ParameterSource.COMMANDLINE}
    _refuse_option_and_set(given, set_, scopes={*list_models(), *ALIASES})
    name = Path(target).stem if target.endswith((".toml", ".h5", ".hdf5")) else target
    out = out or Path("experiments") / name
    cfg = ExperimentConfig(target=target, out=str(out), n=n, seeds=seeds, first_seed=first_seed,
                           models=tuple(m.strip() for m in models.split(",") if m.strip()),
                           epochs=epochs, image_size=image_size, batch_size=batch_size,
                           intervention_mix=intervention_mix, device=device,
                           label_fraction=label_fraction,
                           overrides=tuple(set_))
    report = run_experiment(cfg, argv=["causalvae", *sys.argv[1:]],
                            on_run=lambda msg: click.echo(msg, err=True))
    for model, s in report["models"].items():
        if "mic" not in s:  # no finished run of this model (interrupted)
            continue
        shd = s.get("shd")
        shd_text = "-" if not shd else f"{shd['mean']:.2f} (SHD 0 in {s['seeds_shd0']}/{seeds})"
        cpdag = s.get("shd_cpdag")
        mic, cf = s.get("mic"), s.get("cf_pixel_mse")
        click.echo(f"{model:<16} SHD {shd_text}  SHD vs class "
                   f"{'-' if not cpdag else format(cpdag['mean'], '.2f')}  MIC "
                   f"{'-' if not mic else format(mic['mean'], '.3f')}  CF pixel MSE "
                   f"{'-' if not cf else format(cf['mean'], '.4f')}")
    for note in report.get("notes", []):
        click.echo(note)
    click.echo(f"wrote {out / 'report.md'} and {out / 'report.json'}")
    if report.get("incomplete"):
        click.echo(f"interrupted: {len(report['incomplete'])} run(s) not finished (marked in "
                   "the report); rerun the same command to resume", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
