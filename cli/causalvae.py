"""``causalvae``: train CausalVAE and its baselines on causalgen datasets.

Thin commands over the library: options become ``key=value`` overrides of a
:class:`~causalvae.config.RunConfig`, then one library call. A mistake the user can fix (missing
or foreign file, unknown model or key, impossible batch size, a run directory that already holds a
run) exits with status 2 and a one-paragraph message, without a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from causalgen.errors import CausalgenError
from causalvae.errors import CausalvaeError

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A user mistake: printed as ``Error: ...`` and exit status 2 (like click's usage errors)."""

    exit_code = 2


def user_errors(func: F) -> F:
    """Turn causalgen/causalvae errors into :class:`UserError`; Ctrl-C into exit status 130."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (CausalgenError, CausalvaeError) as exc:
            raise UserError(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """Train CausalVAE (Yang et al., 2021) and its baselines on causalgen datasets."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(message)s", stream=sys.stderr)


# option name -> config key; None values mean "not given" so --resume can tell them apart
_OPTION_KEYS = {
    "model": "model", "epochs": "epochs", "batch_size": "batch_size", "lr": "lr",
    "device": "device", "seed": "seed", "image_size": "image_size", "arch": "arch",
}


@main.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", help="Model name (see `causalvae models`).  [default: causalvae]")
@click.option("--epochs", type=int, help="Training epochs.  [default: 50]")
@click.option("--batch-size", type=int, help="Images per batch (per process).  [default: 128]")
@click.option("--lr", type=float, help="Adam learning rate.  [default: 1e-3]")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]),
              help="Where to train; auto picks CUDA when present.  [default: auto]")
@click.option("--seed", type=int, help="Seed of initialisation, data order and noise.  [default: 0]")
@click.option("--image-size", type=int,
              help="Model input size; images are resized on the device.  [default: 64]")
@click.option("--arch", type=click.Choice(["conv", "reference"]),
              help="conv, or the public code's MLP sizes (reference).  [default: conv]")
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

    items = [f"{_OPTION_KEYS[k]}={v}" for k, v in options.items() if v is not None]
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
    """List the registered models."""
    from causalvae.models import MODELS, list_models

    for name in list_models():
        doc = (MODELS[name].__doc__ or "").strip().splitlines()
        click.echo(f"{name:<16} {doc[0] if doc else ''}")


if __name__ == "__main__":
    main()
