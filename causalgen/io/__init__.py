"""Dataset files: the HDF5 schema v1, an atomic streaming writer, and a strict reader."""

from __future__ import annotations

from causalgen.io.reader import CounterfactualData, Dataset, open_dataset
from causalgen.io.schema import VariableInfo
from causalgen.io.writer import DatasetWriter, check_output_path, write_arrays

__all__ = [
    "CounterfactualData",
    "Dataset",
    "DatasetWriter",
    "VariableInfo",
    "check_output_path",
    "open_dataset",
    "write_arrays",
]
