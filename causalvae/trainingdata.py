"""The train split a run sees: standardised with a resumed run's statistics, or with
``--label-fraction`` < 1 with those of the labelled images only (the Trainer then hides the
other labels). Used by :func:`causalvae.train.train` and ``bench/bench_structure.py``.
"""

from __future__ import annotations

import os

from causalvae.config import RunConfig
from causalvae.data import CausalDataset, LabelStats, labelled_positions

__all__ = ["training_split"]


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
