"""HDF5 schema v1 of causalgen datasets: every key, dtype and attribute name lives here.

The writer and the reader import these names; nothing else spells a key. A file holds:

- ``images``  uint8 (N, H, W, 3), chunked by whole images along axis 0;
- ``labels``  float32 (N, V), variable values in physical units, columns in ``variables`` order;
- ``noise``   float32 (N, V), the exogenous noise each variable's mechanism received;
- ``split``   uint8 (N,), 0 = train, 1 = test;
- optional ``intervened`` uint8 (N, V): 1 where that sample's variable was set by an intervention
  (files made with ``--intervention-mix``; the labels are the post-intervention values);
- optional ``environment`` int32 (N,): the environment (regime) of each sample, numbered from 0
  in the order of the ``environments`` attribute (files made with ``--environments``); such
  files also hold ``intervened`` with each sample's intervention targets;
- optional group ``hidden/`` (``--hide-targets``): ``intervened`` and the full ``environments``
  records live there instead, so a learner that does not ask for them cannot see the targets;
- optional group ``counterfactual/`` with ``images``, ``labels``, ``noise`` for the same samples
  under the intervention stored in its ``intervention`` attribute;
- optional ``source_names`` (N,) UTF-8 text: each sample's image file, relative to the imported
  folder (files made by ``causalgen import``);
- temporal files (``steps`` attribute; :mod:`causalgen.io.temporal`) add a time axis: ``images``
  (N, T, H, W, 3) chunked by sequence, ``labels`` / ``noise`` / ``intervened`` (N, T, V), ``init``
  float32 (N, V) and the ``lagged_adjacency`` attribute; still readers ignore none of this
  silently: the reader exposes ``steps`` (None for still files);
- file attributes listed in :data:`REQUIRED_ATTRS`; ``complete`` is written last, so a file
  without ``complete = True`` is a file whose writer did not finish.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

FORMAT_NAME = "causalgen"
SCHEMA_VERSION = 1

IMAGES = "images"
LABELS = "labels"
NOISE = "noise"
SPLIT = "split"
INTERVENED = "intervened"  # optional uint8 (N, V): 1 where a sample's variable was intervened on
COUNTERFACTUAL = "counterfactual"
INIT = "init"  # temporal files: float32 (N, V), the values read as x[t-1] at t = 0 (NaN: unused)
SOURCE_NAMES = "source_names"  # optional (N,) text: the image file of each imported sample
ENVIRONMENT = "environment"  # optional int32 (N,): each sample's environment index
HIDDEN = "hidden"  # optional group: intervention targets kept away from learners (--hide-targets)

SPLIT_TRAIN = 0
SPLIT_TEST = 1

# File attributes.
ATTR_FORMAT = "format"
ATTR_SCHEMA_VERSION = "schema_version"
ATTR_SCENE = "scene"  # the scene's id as shown to users (custom scenes: "custom/NAME")
ATTR_SCENE_ENTRY = "scene_entry"  # the registry id that rebuilds the scene (e.g. "custom-v1")
ATTR_SCENE_KWARGS = "scene_kwargs"  # JSON keyword arguments for scenes.make(scene_entry, ...)
ATTR_VARIABLES = "variables"  # JSON list of {"name", "unit", "low", "high"}
ATTR_ADJACENCY = "adjacency"  # int8 (V, V), edge row -> column, of the SCM before any intervention
ATTR_SCM = "scm"  # canonical JSON of the spec (before any intervention)
ATTR_INTERVENTION = "intervention"  # JSON object, "{}" when none
ATTR_SEED = "seed"
ATTR_GENERATOR_VERSION = "generator_version"
ATTR_BLOCK_SIZE = "block_size"  # samples per RNG block: part of what fixes the bytes
ATTR_IMAGE_SIZE = "image_size"
ATTR_TEST_FRACTION = "test_fraction"
ATTR_CLIP = "clip"
ATTR_TOTAL = "total"  # samples in the whole dataset (a shard holds [start, stop) of it)
ATTR_SHARD = "shard"  # JSON {"index", "count", "start", "stop"}; absent in an unsharded file
ATTR_INTERVENTION_MIX = "intervention_mix"  # JSON, files with per-sample interventions only
ATTR_ENVIRONMENTS = "environments"  # JSON list, one record per environment (index, size, ...)
ATTR_VIRTUAL = "virtual_sources"  # JSON list of shard paths a `merge --virtual` file maps
ATTR_STEPS = "steps"  # temporal files only: T, the steps of every sequence
ATTR_LAGGED_ADJACENCY = "lagged_adjacency"  # temporal: int8 (V, V), row at t-1 -> column at t
ATTR_INTERVENTION_RATE = "intervention_rate"  # temporal, JSON: per-step random do() settings
ATTR_COUNTERFACTUAL_FROM = "from_step"  # on counterfactual/ of a temporal file: first step
ATTR_COMPLETE = "complete"  # written last
# Imported files (`causalgen import`): scene is EXTERNAL_PREFIX + NAME, no SCM (ATTR_SCM "{}"),
# the adjacency is the declared graph (all zeros when none was declared), noise is NaN.
EXTERNAL_PREFIX = "external/"
ATTR_SOURCE = "source"  # JSON: what was imported and how (format, columns, crop, graph, skipped)

REQUIRED_ATTRS = (
    ATTR_FORMAT,
    ATTR_SCHEMA_VERSION,
    ATTR_SCENE,
    ATTR_VARIABLES,
    ATTR_ADJACENCY,
    ATTR_SCM,
    ATTR_INTERVENTION,
    ATTR_SEED,
    ATTR_GENERATOR_VERSION,
    ATTR_COMPLETE,
)

COMPRESSIONS = ("lzf", "gzip", "none")
DEFAULT_COMPRESSION = "lzf"
GZIP_LEVEL = 4
IMAGES_PER_CHUNK = 32  # a chunk is a run of whole images: ~0.9 MB raw at 96x96x3
FRAMES_PER_CHUNK = 64  # temporal: a chunk is (1, min(T, 64), H, W, 3), never two sequences
ROWS_PER_CHUNK = 4096  # rows per chunk of labels, noise, split and intervened
# Every dataset is written chunked with a fletcher32 checksum per chunk (HDF5's filter): a reader
# detects a damaged chunk and names its rows. Files written before checksums read as before.

MAX_ATTR_BYTES = 60_000  # the largest JSON attribute written (HDF5 compact attributes: < 64 KiB)

PARTIAL_SUFFIX = ".partial"  # a file being written; renamed away when complete


@dataclass(frozen=True)
class VariableInfo:
    """One column of ``labels``: the variable's name, unit and renderable range."""

    name: str
    unit: str = ""
    low: float = float("-inf")
    high: float = float("inf")

    def to_dict(self) -> dict:
        return asdict(self)
