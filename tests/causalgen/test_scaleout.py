"""Scale-out: blocks on any executor and on a Dask cluster (same bytes), virtual merges."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest

from causalgen.errors import DatasetError, SchedulerError
from causalgen.generate import BLOCK_SIZE, generate
from causalgen.io import open_dataset
from causalgen.io.virtual import merge_virtual

N = 2 * BLOCK_SIZE + 40
KW = dict(n=N, seed=9, size=16, environments="obs; do(light_angle=70)",
          counterfactual={"pendulum_angle": 5.0})


def same_bytes(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate("pendulum-v1", tmp_path_factory.mktemp("so") / "local.h5", workers=1, **KW)


def test_any_executor_gives_the_same_file(local: Path, tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as ex:
        out = generate("pendulum-v1", tmp_path / "threads.h5", executor=ex, **KW)
    assert same_bytes(out, local)


def test_dask_local_cluster_gives_the_same_file(local: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        out = generate("pendulum-v1", tmp_path / "dask.h5", dask_scheduler=cluster.scheduler_address,
                       **KW)
    assert same_bytes(out, local)


def test_unreachable_scheduler_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(SchedulerError, match="cannot reach the Dask scheduler"):
        generate("pendulum-v1", tmp_path / "x.h5", n=50, size=16, dask_scheduler="tcp://127.0.0.1:1")
    with pytest.raises(SchedulerError, match="host and port"):
        generate("pendulum-v1", tmp_path / "x.h5", n=50, size=16, dask_scheduler="nowhere")
    assert list(tmp_path.iterdir()) == []


def test_virtual_merge_reads_as_one_file(local: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    (folder / "shards").mkdir(parents=True)
    parts = [generate("pendulum-v1", folder / "shards" / f"s{k}.h5", workers=1, shard=(k, 3), **KW)
             for k in (1, 2, 3)]
    out = merge_virtual(parts[::-1], folder / "all.h5")
    assert out.stat().st_size < parts[0].stat().st_size  # nothing copied
    moved = shutil.move(folder, tmp_path / "moved")  # paths are relative to the file
    with open_dataset(Path(moved) / "all.h5") as v, open_dataset(local) as one, h5py.File(local) as raw:
        assert v.file["images"].is_virtual
        assert v.n == N and v.environments == one.environments
        keys: list[str] = []
        raw.visititems(lambda k, o: keys.append(k) if isinstance(o, h5py.Dataset) else None)
        for k in keys:
            np.testing.assert_array_equal(v.file[k][...], one.file[k][...])
        assert v.counterfactual.intervention == one.counterfactual.intervention
    (Path(moved) / "shards" / "s2.h5").unlink()
    with pytest.raises(DatasetError, match=r"s2\.h5 is missing"):
        open_dataset(Path(moved) / "all.h5")


def test_virtual_merge_over_one_of_its_shards_is_refused(tmp_path: Path) -> None:
    # --out s1.h5 --overwrite replaced shard 1 by a file pointing into itself: the shard's data
    # was gone and `causalgen info` on the result crashed with a segmentation fault
    parts = [generate("pendulum-v1", tmp_path / f"s{k}.h5", workers=1, shard=(k, 2), **KW)
             for k in (1, 2)]
    before = parts[0].read_bytes()
    with pytest.raises(DatasetError, match="is one of the shards"):
        merge_virtual(parts, tmp_path / "." / "s1.h5", overwrite=True)
    assert parts[0].read_bytes() == before


@pytest.mark.parametrize("size", [16, 33, 96, 128])
def test_block_rendering_equals_one_image_at_a_time(size: int) -> None:
    from causalgen import scenes
    from causalgen.scenes.base import Scene

    scene = scenes.make("pendulum-v1")
    rng = np.random.default_rng(size)
    n = 40
    values = {"pendulum_angle": rng.uniform(-90, 90, n), "light_angle": rng.uniform(40, 140, n),
              "shadow_length": rng.uniform(0, 30, n), "shadow_position": rng.uniform(-5, 25, n)}
    values["light_angle"][:2] = (40.0, 140.0)  # the sun partly off the image
    values["shadow_position"][2:4] = (-5.0, 25.0)  # the shadow past the edges
    values["shadow_length"][4] = 0.0
    fast = scene.render(values, size)  # one canvas for the block
    slow = Scene.render(scene, values, size)  # render_one per image, a canvas each
    np.testing.assert_array_equal(fast, slow)
