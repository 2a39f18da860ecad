"""CLI conventions shared by causalgen and causalvae: --version, one error style, scene names
without a version, bundled specs by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from causalgen import __version__, scenes
from causalgen.bundled import bundled_spec, resolve_spec, spec_names
from causalgen.errors import SceneNotFoundError, SpecError
from causalgen.generate import generate
from causalgen.io import open_dataset
from cli.causalgen import main as causalgen
from cli.causalvae import main as causalvae


def test_version_on_both() -> None:
    for cli, prog in ((causalgen, "causalgen"), (causalvae, "causalvae")):
        r = CliRunner().invoke(cli, ["--version"])
        assert r.exit_code == 0 and prog in r.output and __version__ in r.output


def test_one_error_style(tmp_path: Path) -> None:
    r = CliRunner().invoke(causalgen, ["info", str(tmp_path / "missing.h5")])
    assert r.exit_code == 2 and r.output.startswith("causalgen: error: no such file")
    run = tmp_path / "run"
    run.mkdir()
    r = CliRunner().invoke(causalvae, ["evaluate", str(run)])
    assert r.exit_code == 2 and r.output.startswith("causalvae: error: "), r.output


def test_unversioned_scene_names_resolve_to_the_latest(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    assert scenes.resolve("pendulum") == "pendulum-v1"
    assert scenes.resolve("pendulum-v1") == "pendulum-v1"
    with pytest.raises(SceneNotFoundError, match="did you mean 'pendulum-v1'"):
        scenes.resolve("pendulm-v1")
    path = generate("flow", tmp_path / "f.h5", n=8, size=32, workers=1)
    with open_dataset(path) as ds:  # the file records the version it was made with
        assert ds.scene_entry == "flow-v1" and ds.scene == "flow-v1"


def test_bundled_specs_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"chain", "pendulum-noisy"} <= set(spec_names())
    assert bundled_spec("chain") == bundled_spec("chain.toml") and bundled_spec("nope") is None
    with pytest.raises(SpecError, match="did you mean 'chain'"):
        resolve_spec("chian")
    monkeypatch.chdir(tmp_path)  # away from the repository: found in the package
    r = CliRunner().invoke(causalgen, ["scene", "chain", "--n", "8", "--size", "32",
                                       "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "chain.h5").exists()
    r = CliRunner().invoke(causalgen, ["specs"])
    assert "chain" in r.output


def test_experiment_targets_by_name() -> None:
    from causalvae.experiment import _scene_and_scm

    assert _scene_and_scm("pendulum")[0] == "pendulum-v1"  # the latest version
    scene_id, _, kwargs, name = _scene_and_scm("chain")  # a bundled spec
    assert name == "chain" and scene_id == "custom-v1" and kwargs
