"""`causalvae` CLI: a training run end to end, and exit status 2 for user mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from causalgen.io import VariableInfo, write_arrays
from cli.causalvae import main

FAST = ["--image-size", "32", "--epochs", "1", "--batch-size", "16", "--device", "cpu",
        "--set", "conv_width=8", "--set", "hidden=32"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8)
    labels = rng.normal(size=(48, 2)).astype(np.float32)
    variables = [VariableInfo("a"), VariableInfo("b")]
    adjacency = np.array([[0, 1], [0, 0]], np.int8)
    split = (np.arange(48) % 4 == 0).astype(np.uint8)
    return write_arrays(tmp_path_factory.mktemp("cli") / "d.h5", images, labels, variables,
                        adjacency, split=split)


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_models_lists_every_model() -> None:
    result = run("models")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.output.splitlines()]
    assert names == ["betavae", "causalvae", "causalvae-paper", "causalvae-unsup", "chyvae",
                     "conditionvae", "label-only", "ges", "pc", "pc-int"]


def test_train_writes_a_run_directory(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run("train", data, *FAST, "--out", out, "--set", "alpha=2")
    assert result.exit_code == 0, result.output
    assert "1 epochs" in result.output
    assert {p.name for p in out.iterdir()  # (+ TensorBoard's event files, tested elsewhere)
            if not p.name.startswith("events.out.tfevents")} == {"A.npy", "checkpoint.pt",
                                                                 "config.json", "structure.json",
                                               "metrics.jsonl", "recon.png", "run.json"}
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["alpha"] == 2.0 and config["model"]["image_size"] == 32
    assert config["train"]["out"] == str(out)
    # the same command again is refused; with --resume and more epochs it continues
    assert_user_error(run("train", data, *FAST, "--out", out), "finished run", "--resume")
    again = run("train", data, "--epochs", "2", "--out", out, "--resume")
    assert again.exit_code == 0, again.output
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_missing_file(tmp_path: Path) -> None:
    assert_user_error(run("train", tmp_path / "nope.h5"), "does not exist")


def test_foreign_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    assert_user_error(run("train", text, *FAST), "not an HDF5 file")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    assert_user_error(run("train", other, *FAST), "not a causalgen dataset")


def test_unknown_model(data: Path, tmp_path: Path) -> None:
    assert_user_error(run("train", data, "--model", "betavea", "--out", tmp_path / "r"),
                      "unknown model 'betavea'", "did you mean 'betavae'")


def test_impossible_batch_size(data: Path, tmp_path: Path) -> None:
    result = run("train", data, *FAST, "--batch-size", "100", "--out", tmp_path / "r")
    assert_user_error(result, "batch size 100 is larger than the train split (36 images)")
    assert not (tmp_path / "r").exists()  # refused before the run directory is made


def test_bad_set(data: Path, tmp_path: Path) -> None:
    assert_user_error(run("train", data, "--set", "gama=1", "--out", tmp_path / "r"),
                      "unknown config key 'gama'", "did you mean 'gamma'")
    assert_user_error(run("train", data, "--set", "epochs=1.5", "--out", tmp_path / "r"),
                      "epochs=1.5: expected int, got '1.5'")
    assert not (tmp_path / "r").exists()  # refused before touching the disk


def test_resume_without_a_run(data: Path, tmp_path: Path) -> None:
    assert_user_error(run("train", data, "--resume", "--out", tmp_path / "r"), "no checkpoint")


def test_experiment_default_models_are_the_library_defaults() -> None:
    from causalvae.experiment import DEFAULT_MODELS
    from cli.causalvae import experiment

    default = next(p.default for p in experiment.params if p.name == "models")
    assert tuple(default.split(",")) == DEFAULT_MODELS


@pytest.mark.parametrize("option,value", [("--label-fraction", "nan"), ("--label-fraction", "inf"),
                                          ("--lr", "nan"), ("--lr", "-inf")])
def test_non_finite_numbers_are_refused(data: Path, tmp_path: Path, option: str,
                                        value: str) -> None:
    # NaN passes every range comparison: --label-fraction nan once trained with all labels
    assert_user_error(run("train", data, option, value, "--out", tmp_path / "r"),
                      f"'{value}' is not a finite number")
    assert_user_error(run("experiment", str(data), option.replace("--lr", "--label-fraction"),
                          value, "--out", tmp_path / "e"), "is not a finite number")
    assert_user_error(run("train", data, "--set", f"beta={value}", "--out", tmp_path / "r"),
                      f"beta={float(value)!r} is not a finite number")
    assert not (tmp_path / "r").exists() and not (tmp_path / "e").exists()


def test_experiment_config_checks_its_ranges(tmp_path: Path) -> None:
    from causalvae.errors import CausalvaeError
    from causalvae.experiment import ExperimentConfig

    for bad in ({"label_fraction": float("nan")}, {"label_fraction": 0.0},
                {"intervention_mix": float("nan")}, {"intervention_mix": 1.5}):
        with pytest.raises(CausalvaeError, match="must be in"):
            ExperimentConfig(target="pendulum-v1", out=str(tmp_path), **bad).validate()


def test_an_option_and_a_set_item_for_one_key_are_refused(data: Path, tmp_path: Path) -> None:
    # --set epochs=3 silently won over --epochs 1 (the later item took effect)
    assert_user_error(run("train", data, "--epochs", "1", "--set", "epochs=3", "--out",
                          tmp_path / "r"), "--epochs 1 and --set epochs=3 both set epochs")
    assert_user_error(run("train", data, "--label-fraction", "0.5", "--set",
                          "train.label_fraction=0.2", "--out", tmp_path / "r"),
                      "--label-fraction 0.5 and --set train.label_fraction=0.2")
    assert_user_error(run("experiment", "pendulum-v1", "--epochs", "2", "--set", "epochs=4",
                          "--out", tmp_path / "e"), "--epochs 2 and --set epochs=4")
    assert not (tmp_path / "r").exists() and not (tmp_path / "e").exists()


def test_experiment_one_models_override_of_a_flag_is_kept(tmp_path: Path) -> None:
    # MODEL.KEY= sets that model alone; beside --epochs for the others it is not a conflict
    from causalvae.experiment import ExperimentConfig, run_config

    result = run("experiment", "pendulum-v1", "--epochs", "2", "--set", "causalvae.epochs=4",
                 "--models", "causalvae,nosuchmodel", "--out", tmp_path / "e")
    assert "both set" not in result.output and "nosuchmodel" in result.output
    cfg = ExperimentConfig(target="pendulum-v1", out=str(tmp_path / "e"), epochs=2,
                           overrides=("causalvae.epochs=4",))
    assert run_config(cfg, "causalvae", 0, tmp_path).train.epochs == 4
    assert run_config(cfg, "betavae", 0, tmp_path).train.epochs == 2


def test_experiment_models_none_or_twice_refused(tmp_path: Path) -> None:
    # --models '' generated the data and wrote an empty report (exit 0); a model named twice, or
    # under its alias, was trained twice or counted twice
    for models, message in [("", "names no model"), (",", "names no model"),
                            ("causalvae,betavae,causalvae", "'causalvae' twice"),
                            ("causalvae,causalvae-int", "'causalvae-int' twice")]:
        assert_user_error(run("experiment", "pendulum-v1", "--models", models, "--out",
                              tmp_path / "e"), message)
    assert not (tmp_path / "e").exists()


def test_a_file_with_a_nan_label_is_refused_before_the_run_directory(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels = rng.normal(size=(48, 2)).astype(np.float32)
    labels[5, 1] = np.nan  # a train row (5 % 4 != 0)
    path = write_arrays(tmp_path / "nan.h5", rng.integers(0, 256, (48, 32, 32, 3), np.uint8),
                        labels, [VariableInfo("a"), VariableInfo("b")],
                        np.array([[0, 1], [0, 0]], np.int8),
                        split=(np.arange(48) % 4 == 0).astype(np.uint8))
    result = run("train", path, *FAST, "--out", tmp_path / "r")
    assert_user_error(result, "not a finite number (first: row 5, 'b' = nan)", "drop or fill")
    assert "RuntimeWarning" not in result.output
    assert not (tmp_path / "r").exists()


def test_too_few_labelled_images_is_refused_before_the_run_directory(data: Path,
                                                                      tmp_path: Path) -> None:
    result = run("train", data, *FAST, "--label-fraction", "0.02", "--out", tmp_path / "r")
    assert_user_error(result, "of 36 training images labels 1", "raise --label-fraction")
    assert not (tmp_path / "r").exists()
