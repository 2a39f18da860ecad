"""Ground truth on demand: counterfactual labels and images of a dataset's own samples.

The generator knows every sample's exogenous noise, so it can answer "what would this image have
looked like under do(v = value)?" exactly: the same noise, the mechanisms re-evaluated
downstream of ``v``, the same renderer. The same holds for soft interventions (``shift``,
``scale_noise``, ``mechanism``) and for files of several environments, where each sample is
answered under its own environment's SCM. Evaluation compares a model's counterfactuals with
these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from causalgen import scenes
from causalgen.errors import SceneNotFoundError
from causalgen.io.reader import Dataset
from causalgen.scm.environments import parse_interventions
from causalgen.scm.interventions import Intervention, apply_all, counterfactual, from_dict
from causalgen.scm.spec import SCM, Samples


def truth_unavailable(ds: Dataset) -> str | None:
    """Why ground truth cannot be computed for ``ds`` (an imported file, a scene not installed
    here), or None when it can. Callers skip what needs a generator with this one line."""
    try:
        scenes.from_dataset(ds)
    except SceneNotFoundError as exc:  # NoGeneratorError for imported files
        return str(exc)
    return None


def dataset_scm(ds: Dataset, environment: int | None = None) -> tuple[scenes.Scene, SCM]:
    """The scene and the SCM the file's samples were drawn from (its intervention applied);
    with ``environment``, that environment's SCM."""
    scene, scm = scenes.from_dataset(ds)
    scm = scm.do(**ds.intervention) if ds.intervention else scm
    if environment is not None:
        scm = environment_scms(ds, scm)[environment]
    return scene, scm


def environment_scms(ds: Dataset, scm: SCM) -> list[SCM]:
    """One SCM per environment of ``ds`` (its records, hidden ones included) over ``scm``."""
    records = ds.hidden_targets()[1] or [{"interventions": []}]
    return [apply_all(scm, [from_dict(r) for r in rec["interventions"]]) for rec in records]


def counterfactual_truth(ds: Dataset, indices: Sequence[int] | np.ndarray,
                         intervention: Mapping[str, float | np.ndarray] | str | Sequence[Intervention],
                         size: int | None = None, clip: bool = True,
                         rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Counterfactual (images uint8 (m, S, S, 3), labels float64 (m, V)) of samples ``indices``.

    ``intervention`` maps variable names to a value or to one value per sample, or is a list of
    interventions (or their text, e.g. ``"shift(shadow_length, 2)"``), soft ones included;
    ``rng`` draws stochastic do() values. Values are clipped to the renderable range by default
    so that any model-chosen value can be rendered.
    """
    scene, scm = dataset_scm(ds)
    idx = np.asarray(indices)
    order = np.argsort(idx)
    inverse = np.argsort(order)
    sorted_idx = idx[order]  # h5py reads need increasing indices
    labels = ds.labels[sorted_idx].astype(np.float64)
    noise = ds.noise[sorted_idx].astype(np.float64)
    m = len(idx)
    soft = None
    if isinstance(intervention, str):
        soft = parse_interventions(intervention)
    elif not isinstance(intervention, Mapping):
        soft = tuple(intervention)
    if ds.environment is None:
        env, scms = np.zeros(m, np.int64), [scm]
    else:
        env, scms = ds.environment[sorted_idx], environment_scms(ds, scm)
    values = np.empty_like(labels)
    for e in np.unique(env).tolist():
        rows = np.flatnonzero(env == e)
        factual = Samples(scm.names, labels[rows], noise[rows])
        if soft is not None:
            values[rows] = counterfactual(scms[e], factual, soft, rng, clip=clip)[1].values
            continue
        # one value per sample, reordered like the rows; with clip, the SCM clips forced values too
        forced = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), (m,))[order][rows]
                  for k, v in intervention.items()}  # type: ignore[union-attr]
        values[rows] = scms[e].counterfactual_columns(factual, forced, clip=clip).values
    images = scene.render(dict(zip(scm.names, values.T, strict=True)), size or ds.image_size)
    return images[inverse], values[inverse]
