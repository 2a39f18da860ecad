"""The train split a run sees: standardised with a resumed run's statistics, or with
``--label-fraction`` < 1 with those of the labelled images only (the Trainer then hides the
other labels); and the structure stage a causal model runs before training. Used by :func:`causalvae.train.train` and ``bench/bench_structure.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from causalvae.config import RunConfig
from causalvae.data import CausalDataset, LabelStats, labelled_positions

__all__ = ["structure_stage", "training_split"]


def training_split(config: RunConfig, data_path: str | os.PathLike,
                   stats: LabelStats | None = None,
                   names: list[str] | None = None) -> CausalDataset:
    """The train split of a file as a run sees it: standardised with ``stats`` (a resumed run's)
    or, with ``label_fraction`` < 1, with the statistics of the labelled images only (the
    Trainer hides the other labels)."""
    train_ds = CausalDataset(data_path, "train", label_stats=stats, expect_variables=names,
                             memory_budget_gb=config.train.memory_budget_gb)
    fraction = config.train.label_fraction
    if fraction < 1.0 and stats is None:
        keep = labelled_positions(len(train_ds), fraction, config.train.seed)
        train_ds.set_label_stats(LabelStats.compute(train_ds.raw_labels[keep],
                                                    train_ds.variable_names))
    return train_ds


def structure_stage(model: Any, config: RunConfig, data: CausalDataset,
                    run_dir: Path | None) -> dict[str, Any]:
    """Run :func:`causalvae.models.structure.prepare_structure` for a label-supervised causal
    model that has a support or a labels-first fit, writing ``structure.json`` into ``run_dir``
    (None: write nothing). Returns the record ({}: nothing to do for this model)."""
    if not hasattr(model, "structure_frozen") or not hasattr(model, "label_term"):
        return {}
    if getattr(config.model, "structure_support", "none") == "none" and not model.structure_frozen:
        return {}
    from causalvae.models.structure import prepare_structure

    record = prepare_structure(model, data.labels, data.intervened, seed=config.train.seed,
                               batch_size=config.train.batch_size,
                               true_adjacency=data.adjacency)
    if run_dir is not None:
        (Path(run_dir) / "structure.json").write_text(json.dumps(record, indent=1) + "\n")
    return record
