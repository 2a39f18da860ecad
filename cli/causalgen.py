"""The ``causalgen`` command: generate, inspect, preview and merge causal image datasets.

Commands are thin: parse, call one library function, print. User mistakes (a bad spec, an
unknown scene, an existing output) exit with code 2 and a one-paragraph message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from causalgen import __version__
from causalgen.errors import CausalgenError
from cli.causalgen_files import FILE_COMMANDS
from cli.common import FiniteFloat, error_line, os_error_message, progress_bar

EXIT_USER = 2


class Group(click.Group):
    """A click group that turns CausalgenError into exit code 2 and a message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CausalgenError as exc:
            click.echo(error_line("causalgen", str(exc)), err=True)
            ctx.exit(EXIT_USER)
        except OSError as exc:  # a full disk or a read-only place anywhere: one message
            message = os_error_message(exc)
            if message is None:
                raise
            click.echo(error_line("causalgen", message), err=True)
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
        if name.strip() in out:  # the last one would win without a word
            raise click.BadParameter(f"{name.strip()} is set twice ({out[name.strip()]!r} and "
                                     f"{value.strip()!r}); give each variable once",
                                     param_hint=option)
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
        click.option("--test-fraction", default=0.2, show_default=True, type=FiniteFloat(0, 1, max_open=True)),
        click.option("--compression", default="lzf", show_default=True,
                     type=click.Choice(["lzf", "gzip", "none"])),
        click.option("--shard", metavar="K/N", help="Write only part K of N (1-based); merge with `causalgen merge`."),
        click.option("--overwrite", is_flag=True, help="Replace an existing output file."),
        click.option("--clip", is_flag=True, help="Clip values to the renderable ranges instead of failing."),
        click.option("--intervention-mix", type=FiniteFloat(0, 1), default=0.0,
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
        click.option("--intervention-rate", type=FiniteFloat(), default=0.0,
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
    from causalgen.generate import BLOCK_SIZE, generate

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
    shard_t, out, count = _shard_output(scene_id, shard, out, n, BLOCK_SIZE)
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


def _shard_output(scene_id: str, shard: str | None, out: Path | None, n: int,
                  block: int) -> tuple[tuple[int, int] | None, Path, int]:
    """(parsed --shard, output path, samples this run writes) of a generation of ``n`` samples
    drawn in blocks of ``block``; the default name is <scene>[-shardKofN].h5."""
    from causalgen.generate import parse_shard, shard_range

    shard_t = parse_shard(shard) if shard else None
    if out is None:
        stem = scene_id.rsplit("-v", 1)[0]
        out = Path(f"{stem}-shard{shard_t[0]}of{shard_t[1]}.h5" if shard_t else f"{stem}.h5")
    if not shard_t:
        return None, out, n
    _, a, b = shard_range(n, block, *shard_t)
    return shard_t, out, b - a


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
    from causalgen.generate_temporal import generate_sequences, sequences_per_block
    from causalgen.scm.temporal import check_steps

    shard_t, out, count = _shard_output(scene_id, shard, out, n,
                                        sequences_per_block(check_steps(steps)))
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
    """Generate a registered scene (an id such as pendulum-dynamic-v1; unversioned: the latest),
    from a spec file (a built-in scene with overrides, or a custom scene), or from a bundled
    spec by name (`causalgen scene chain`; `causalgen specs` lists them)."""
    from causalgen import scenes
    from causalgen.bundled import bundled_spec, resolve_spec
    from causalgen.scenes.files import load_spec

    if kw.pop("spec_path", None) is not None:
        raise click.BadParameter("give the spec as the argument, not also as --spec", param_hint="--spec")
    if not spec_file.exists() and bundled_spec(str(spec_file)) is not None:
        spec_file = resolve_spec(spec_file)  # a bundled spec's name: data/scenes/NAME.toml
    if not spec_file.exists() and spec_file.suffix != ".toml":  # a registered scene id
        scenes.entry(str(spec_file))  # an unknown id gets a "did you mean"
        _generate(str(spec_file), None, {}, **kw)
        return
    loaded = load_spec(resolve_spec(spec_file))
    if kw.get("out") is None and loaded.scene_kwargs:  # a custom scene: name the file after it
        kw["out"] = Path(f"{spec_file.stem}.h5")
    _generate(loaded.scene_id, loaded.scm, loaded.scene_kwargs, **kw)


@main.command()
def specs() -> None:
    """List the bundled spec files, usable by name (`causalgen scene NAME`)."""
    from causalgen.bundled import bundled_spec, spec_names

    for name in spec_names():
        click.echo(f"{name:<24} {bundled_spec(name)}")


@main.command(name="list")
def list_command() -> None:
    """List the registered scenes."""
    from causalgen import scenes

    for sid in scenes.list_scenes():
        click.echo(f"{sid:<20} {scenes.entry(sid).summary}")


for _command in FILE_COMMANDS:  # info, show, merge, validate, graph, export, import
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
