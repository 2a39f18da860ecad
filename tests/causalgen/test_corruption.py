"""Damaged files and huge sizes: checksums on every dataset, damage named by rows, merges that
must tile 0..N, and a split drawn block by block (``--n 1000000000`` allocates nothing big)."""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causalgen.errors import DatasetError, SpecError
from causalgen.generate import generate
from causalgen.io import open_dataset
from causalgen.io import schema as S
from causalgen.io.merge import merge_shards
from causalgen.split import MAX_SAMPLES, SplitPlan, split_membership

N = 100  # 4 image chunks of 32 rows


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corrupt") / "pristine.h5"
    return generate("pendulum-v1", out, n=N, seed=1, size=16, workers=1,
                    counterfactual={"light_angle": 90.0}, intervention_mix=0.0)


def _chunk(path: Path, key: str, index: int) -> tuple[int, int]:
    """(byte offset, size) of stored chunk ``index`` of dataset ``key``."""
    with h5py.File(path, "r") as f:
        info = f[key].id.get_chunk_info(index)
        return info.byte_offset, info.size


def _flip(src: Path, dst: Path, offset: int) -> Path:
    raw = bytearray(src.read_bytes())
    raw[offset] ^= 0x5A
    dst.write_bytes(bytes(raw))
    return dst


def test_every_dataset_is_chunked_with_a_checksum(pristine: Path) -> None:
    with h5py.File(pristine, "r") as f:
        datasets: list[h5py.Dataset] = []
        f.visititems(lambda _, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        assert {d.name for d in datasets} >= {"/images", "/labels", "/noise", "/split",
                                             "/counterfactual/images"}
        assert all(d.fletcher32 and d.chunks for d in datasets), [d.name for d in datasets]


@pytest.mark.parametrize(("key", "chunk", "rows"), [
    ("images", 1, "32-63"), ("images", 3, "96-99"), ("counterfactual/images", 0, "0-31")])
def test_a_flipped_byte_in_an_image_chunk_names_the_rows(
        pristine: Path, tmp_path: Path, key: str, chunk: int, rows: str) -> None:
    offset, size = _chunk(pristine, key, chunk)
    bad = _flip(pristine, tmp_path / "bad.h5", offset + size // 2)
    with open_dataset(bad) as ds:  # opening works: images are read lazily
        images = ds.images if key == "images" else ds.counterfactual.images
        assert images[:5 if chunk else 0].shape[0] == (5 if chunk else 0)  # other chunks read
        with pytest.raises(DatasetError, match=f"damaged at rows {rows} of its dataset "
                                                f"'{key}'.*regenerate"):
            images[:]
        with pytest.raises(DatasetError, match=f"rows {rows}"):
            images[np.unique([0, 1, int(rows.split("-")[0])])]


@pytest.mark.parametrize("key", ["labels", "noise", "split"])
def test_a_flipped_byte_in_labels_noise_or_split_is_refused_on_open(
        pristine: Path, tmp_path: Path, key: str) -> None:
    offset, size = _chunk(pristine, key, 0)
    bad = _flip(pristine, tmp_path / "bad.h5", offset + size - 1)
    with pytest.raises(DatasetError, match=f"damaged at rows 0-{N - 1} of its dataset '{key}'"):
        open_dataset(bad)


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.floats(0.0, 1.0, exclude_max=True), mask=st.integers(1, 255))
def test_random_damage_inside_stored_chunks_is_never_read_silently(
        pristine: Path, tmp_path: Path, where: float, mask: int) -> None:
    offset, size = _chunk(pristine, "images", 2)
    raw = bytearray(pristine.read_bytes())
    raw[offset + int(where * size)] ^= mask
    bad = tmp_path / "rand.h5"
    bad.write_bytes(bytes(raw))
    with open_dataset(pristine) as good, open_dataset(bad) as ds:
        with pytest.raises(DatasetError, match="damaged at rows 64-95"):
            ds.images[64:96]
        np.testing.assert_array_equal(ds.images[:64], good.images[:64])


def test_a_truncated_file_is_a_dataset_error(pristine: Path, tmp_path: Path) -> None:
    bad = tmp_path / "short.h5"
    bad.write_bytes(pristine.read_bytes()[: pristine.stat().st_size // 2])
    with pytest.raises(DatasetError), open_dataset(bad) as ds:
        ds.images[:]


# -- merge: the shards must tile 0..N ---------------------------------------------------------
@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("shards")
    return [generate("pendulum-v1", d / f"s{k}.h5", n=600, seed=2, size=16, workers=1,
                     shard=(k, 2)) for k in (1, 2)]


def _edit_shard(src: Path, dst: Path, **changes: int) -> Path:
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as f:
        shard = json.loads(f.attrs[S.ATTR_SHARD])
        f.attrs[S.ATTR_SHARD] = json.dumps({**shard, **changes})
    return dst


@pytest.mark.parametrize(("changes", "message"), [
    ({"start": 0}, "starts at row 0, but the shards before it end at row 256"),
    ({"start": 300, "stop": 600}, "starts at row 300"),
    ({"stop": 900}, "claims rows 256..900 of a 600-sample dataset"),
    ({"stop": 500}, "claims rows 256..500 but holds 344 samples"),
])
def test_merge_refuses_shards_that_do_not_tile_the_dataset(
        shards: list[Path], tmp_path: Path, changes: dict, message: str) -> None:
    edited = _edit_shard(shards[1], tmp_path / "edited.h5", **changes)
    with pytest.raises(DatasetError, match=message):
        merge_shards([shards[0], edited], tmp_path / "merged.h5")
    assert not (tmp_path / "merged.h5").exists()


def test_merge_of_intact_shards_still_works(shards: list[Path], tmp_path: Path) -> None:
    merged = merge_shards(shards, tmp_path / "merged.h5")
    with open_dataset(merged) as ds:
        assert ds.n == 600 and ds.images.fletcher32
        assert int(ds.split.sum()) == 120


# -- sizes: the split is drawn per block --------------------------------------------------------
def test_a_billion_samples_allocate_nothing_big_before_writing(tmp_path: Path) -> None:
    def stop(_: int) -> None:
        raise KeyboardInterrupt  # after the first block is written

    tracemalloc.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            generate("pendulum-v1", tmp_path / "big.h5", n=10**9, size=16, workers=1,
                     progress=stop)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left
    with pytest.raises(SpecError, match="above the limit"):
        generate("pendulum-v1", tmp_path / "huge.h5", n=MAX_SAMPLES + 1)


def test_small_datasets_keep_the_split_they_always_had() -> None:
    plan = SplitPlan(5, 1000, 0.2, 256)
    np.testing.assert_array_equal(plan.rows(0, 1000), split_membership(5, 1000, 0.2))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(total=st.integers(1, 5000), fraction=st.floats(0.0, 0.99), seed=st.integers(0, 2**32),
       block=st.sampled_from([32, 256]))
def test_the_block_wise_split_has_the_exact_count_and_any_order_gives_the_same_rows(
        total: int, fraction: float, seed: int, block: int) -> None:
    plan = SplitPlan(seed, total, fraction, block)
    plan._whole = None  # force the block-wise draw used above WHOLE_SPLIT_MAX
    forward = np.concatenate([plan.block(b) for b in range(plan.blocks)])
    assert forward.shape == (total,) and int(forward.sum()) == round(fraction * total)
    order = list(range(plan.blocks))
    random.Random(seed).shuffle(order)
    fresh = SplitPlan(seed, total, fraction, block)
    fresh._whole = None
    shuffled = {b: fresh.block(b) for b in order}
    np.testing.assert_array_equal(np.concatenate([shuffled[b] for b in range(plan.blocks)]),
                                  forward)
    a = random.Random(seed).randrange(total)
    np.testing.assert_array_equal(plan.rows(a, total - a), forward[a:])


def test_the_block_wise_split_is_uniform() -> None:
    # Each row is a test row with probability fraction: over many seeds, per-row rates agree.
    hits = np.zeros(1000)
    for seed in range(100):
        plan = SplitPlan(seed, 1000, 0.3, 32)
        plan._whole = None
        hits += plan.rows(0, 1000)
    rate = hits / 100
    assert abs(rate.mean() - 0.3) < 1e-9
    assert np.abs(rate.reshape(-1, 100).mean(1) - 0.3).max() < 0.03  # no block favoured


def test_temporal_files_carry_checksums_and_name_damaged_sequences(tmp_path: Path) -> None:
    from causalgen.generate_temporal import generate_sequences

    path = generate_sequences("pendulum-dynamic-v1", tmp_path / "t.h5", n=6, steps=4, seed=1,
                              size=16, workers=1, intervention_rate=0.5)
    with h5py.File(path, "r") as f:
        datasets: list[h5py.Dataset] = []
        f.visititems(lambda _, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        assert datasets and all(d.fletcher32 for d in datasets), [d.name for d in datasets]
    offset, size = _chunk(path, "images", 2)  # chunks are one sequence each
    bad = _flip(path, tmp_path / "bad.h5", offset + size // 2)
    with open_dataset(bad) as ds, pytest.raises(DatasetError, match="damaged at rows 2-2"):
        ds.images[:]


def test_row_selections_read_by_blocks_equal_h5pys_own(pristine: Path, monkeypatch) -> None:
    from causalgen.io import checked

    monkeypatch.setattr(checked, "BLOCK_ROWS", 16)  # several blocks in this small file
    rng = np.random.default_rng(0)
    with open_dataset(pristine) as ds, h5py.File(pristine, "r") as raw:
        for rows in [np.sort(rng.choice(N, 60, replace=False)),  # dense: read by blocks
                     np.array([3]), np.array([0, 99]),  # sparse: h5py's own selection
                     np.arange(N), [5, 6, 7]]:
            np.testing.assert_array_equal(ds.images[rows], raw["images"][rows])
            np.testing.assert_array_equal(ds.labels[rows], raw["labels"][rows])
        with pytest.raises((IndexError, ValueError, TypeError)):
            ds.images[np.array([5, 3])]  # unsorted: refused as h5py refuses it
        with pytest.raises(IndexError, match="100 rows"):
            ds.images[np.array([0, N])]  # out of range: an index error, not "damaged"
