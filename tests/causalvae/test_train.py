"""The trainer: learning, exact resume, Ctrl-C, the NaN guard, run directories, DDP."""

from __future__ import annotations

import json
import signal
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist

from causalvae.checkpoint import load_checkpoint, load_run
from causalvae.config import RunConfig
from causalvae.errors import CheckpointError, DataError, DivergenceError
from causalvae.train import Trainer, train

VOLATILE = ("images_per_s", "time")  # wall-clock fields of a metrics row


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def stable(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in VOLATILE}


def test_short_run_lowers_the_loss(pendulum_file, make_config, tmp_path) -> None:
    cfg = make_config("causalvae-paper", "epochs=3", "batch_size=32", out=tmp_path / "run")
    result = train(cfg, pendulum_file)
    first, last = result.history[0], result.history[-1]
    assert last["loss"] < first["loss"] and last["recon"] < first["recon"]
    assert result.step_losses[-1] < result.step_losses[0]
    assert result.epochs == 3 and result.global_step == 3 * 15  # 480 train images / 32


def test_run_directory_contents(tiny_h5, make_config, tmp_path) -> None:
    out = tmp_path / "run"
    train(make_config("causalvae-paper", "a_init=dataset", out=out), tiny_h5)
    assert sorted(p.name for p in out.iterdir()  # (+ TensorBoard's event files: test_tblog)
                  if not p.name.startswith("events.out.tfevents")) == [
        "A.npy", "checkpoint.pt", "config.json", "metrics.jsonl", "recon.png", "run.json"]
    saved = RunConfig.from_json(out / "config.json")
    assert saved.model.n_concepts == 3 and saved.to_dict() == load_checkpoint(
        out / "checkpoint.pt")["config"]
    metrics = rows(out / "metrics.jsonl")
    assert [r["epoch"] for r in metrics] == [1, 2]
    assert {"loss", "recon", "kl_eps", "kl_z", "h_a", "l_u", "l_m", "step", "lr",
            "images_per_s", "time"} <= set(metrics[0])
    run = load_run(out)
    assert run.variable_names == ["size", "pos", "shade"] and run.epoch == 2
    assert np.array_equal(np.load(out / "A.npy"), run.model.learned_adjacency())
    assert run.state["finished"] and run.state["label_stats"]["names"] == run.variable_names


def test_resume_reproduces_the_next_steps_exactly(tiny_h5, make_config, tmp_path) -> None:
    full = train(make_config("causalvae-paper", out=tmp_path / "full"), tiny_h5)
    half = train(make_config("causalvae-paper", "epochs=1", out=tmp_path / "half"), tiny_h5)
    assert half.step_losses == full.step_losses[: len(half.step_losses)]
    resumed = train(make_config("causalvae-paper", out=tmp_path / "half"), tiny_h5, resume=True,
                    overrides=["epochs=2"])
    assert resumed.step_losses == full.step_losses[len(half.step_losses):]  # bit for bit
    assert [stable(r) for r in rows(tmp_path / "half" / "metrics.jsonl")] == \
        [stable(r) for r in rows(tmp_path / "full" / "metrics.jsonl")]


def test_resume_refuses_another_dataset_but_follows_a_moved_one(tiny_h5, make_config,
                                                                tmp_path) -> None:
    out = tmp_path / "run"
    train(make_config("betavae", "epochs=1", out=out), tiny_h5)
    other = tmp_path / "other.h5"  # the same variables, but another file
    other.write_bytes(tiny_h5.read_bytes())
    with pytest.raises(CheckpointError, match=r"was trained on .*tiny\.h5, not on .*other\.h5"):
        train(make_config("betavae", out=out), other, resume=True, overrides=["epochs=2"])
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 1  # nothing was touched
    moved = tmp_path / "moved.h5"
    moved.write_bytes(tiny_h5.read_bytes())
    (out / "run.json").write_text(json.dumps({"data": str(tmp_path / "gone.h5")}))
    result = train(make_config("betavae", out=out), moved, resume=True, overrides=["epochs=2"])
    assert result.epochs == 2
    assert json.loads((out / "run.json").read_text())["data"] == str(moved.resolve())


def test_ctrl_c_saves_and_resume_continues_mid_epoch(tiny_h5, make_config, tmp_path,
                                                     monkeypatch) -> None:
    full = train(make_config("betavae", out=tmp_path / "full"), tiny_h5)
    original = Trainer._train_step
    calls = []

    def interrupting_step(self, batch):
        calls.append(1)
        if len(calls) == 7:  # the 2nd step of epoch 2 (5 steps per epoch)
            signal.raise_signal(signal.SIGINT)
        return original(self, batch)

    monkeypatch.setattr(Trainer, "_train_step", interrupting_step)
    out = tmp_path / "cut"
    cut = train(make_config("betavae", out=out), tiny_h5)
    monkeypatch.undo()
    assert cut.interrupted and cut.epochs == 1
    state = load_checkpoint(out / "checkpoint.pt")
    assert (state["epoch"], state["batch_in_epoch"], state["global_step"]) == (1, 2, 7)
    assert not state["finished"]
    rest = train(make_config("betavae", out=out), tiny_h5, resume=True)
    assert cut.step_losses + rest.step_losses == full.step_losses
    assert [stable(r) for r in rows(out / "metrics.jsonl")] == \
        [stable(r) for r in rows(tmp_path / "full" / "metrics.jsonl")]


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tiny_data, make_config,
                                                            tmp_path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    Trainer(make_config("causalvae-paper", "epochs=1"), tiny_data, run_dir=out).fit()
    good = (out / "checkpoint.pt").read_bytes()
    state = load_checkpoint(out / "checkpoint.pt")
    trainer = Trainer(make_config("causalvae-paper", "epochs=2"), tiny_data, run_dir=out,
                      resume_state=state)
    clean = trainer.sampler.batches(1)[0]  # the sanity pass's batch stays clean
    poisoned = np.setdiff1d(np.arange(len(tiny_data)), clean)
    tiny_data.labels[poisoned] = float("nan")
    with pytest.raises(DivergenceError, match=r"diverged at epoch 2.*kept unchanged"):
        trainer.fit()
    assert (out / "checkpoint.pt").read_bytes() == good
    assert len(rows(out / "metrics.jsonl")) == 1


def test_sanity_pass_rejects_a_bad_first_batch(tiny_data, make_config) -> None:
    tiny_data.labels[:] = float("inf")
    with pytest.raises(DivergenceError, match="sanity pass"):
        Trainer(make_config("conditionvae"), tiny_data).fit()


def test_sanity_pass_leaves_the_model_untouched(tiny_data, make_config) -> None:
    trainer = Trainer(make_config("chyvae"), tiny_data)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    rng = torch.get_rng_state()
    assert trainer.sanity_check(0) == ["recon", "reg", "kl"]
    assert all(torch.equal(v, trainer.model.state_dict()[k]) for k, v in before.items())
    assert all(p.grad is None for p in trainer.model.parameters())
    assert torch.equal(rng, torch.get_rng_state())


def test_user_errors(tiny_h5, tiny_data, make_config, tmp_path) -> None:
    with pytest.raises(DataError, match="batch size 500 is larger than the train split"):
        Trainer(make_config("betavae", "batch_size=500"), tiny_data)
    out = tmp_path / "run"
    train(make_config("betavae", "epochs=1", out=out), tiny_h5)
    with pytest.raises(CheckpointError, match=r"already holds a finished run.*--resume"):
        train(make_config("betavae", "epochs=1", out=out), tiny_h5)
    with pytest.raises(CheckpointError, match=r"cannot change train.batch_size"):
        train(make_config("betavae", out=out), tiny_h5, resume=True, overrides=["batch_size=8"])
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(make_config("betavae", out=tmp_path / "none"), tiny_h5, resume=True)
    more = train(make_config("betavae", out=out), tiny_h5, resume=True, overrides=["epochs=2"])
    assert more.epochs == 2 and len(more.history) == 1


def test_resume_with_another_model_is_refused_by_name() -> None:
    # `causalvae train DATA --out RUN --resume --model betavae` on a causalvae run was a
    # KeyError traceback: the two models' configs have different keys
    from causalvae.checkpoint import resume_config
    from causalvae.train import RESUMABLE_KEYS

    saved = RunConfig.default("causalvae")
    for item in ["model=betavae", "model=causalvae-paper"]:
        with pytest.raises(CheckpointError, match="cannot change the model: the run trains 'causalvae'"):
            resume_config(saved, [item], RESUMABLE_KEYS)
    assert resume_config(saved, ["model=causalvae-int", "epochs=3"], RESUMABLE_KEYS).train.epochs == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_gloo_world_size_one(tiny_data, make_config, monkeypatch, tmp_path) -> None:
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(key, value)
    trainer = Trainer(make_config("causalvae-paper", "epochs=1"), tiny_data, run_dir=tmp_path)
    assert isinstance(trainer.forward_module, torch.nn.parallel.DistributedDataParallel)
    assert dist.get_backend() == "gloo"
    result = trainer.fit()
    assert result.global_step == 6 and np.isfinite(result.history[0]["loss"])
    assert not dist.is_initialized()  # the trainer tears down the group it created
    assert (tmp_path / "checkpoint.pt").exists()


def test_streaming_with_workers(tiny_h5, make_config, tmp_path) -> None:
    cfg = make_config("causalvae-unsup", "epochs=1", "memory_budget_gb=0", "num_workers=2",
                      out=tmp_path / "run")
    result = train(cfg, tiny_h5)
    assert result.global_step == 5 and np.isfinite(result.step_losses).all()


def test_progress_bar_draws_only_on_a_terminal() -> None:
    import io

    from causalvae.runtime import ProgressBar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = ProgressBar(4, "epoch 1/2", stream=stream, min_interval=0)
        bar.update(4, {"loss": 12.5, "kl": 0.25}, 1000.0)
        bar.close()
    assert "epoch 1/2 [" in tty.getvalue() and "loss 12.5 kl 0.25" in tty.getvalue()
    assert pipe.getvalue() == ""


@pytest.mark.parametrize("model", ["causalvae", "chyvae", "conditionvae"])
def test_bf16_autocast_path_on_cpu(tiny_data, make_config, model: str) -> None:
    result = Trainer(make_config(model, "epochs=1", "cpu_amp=true"), tiny_data).fit()
    assert np.isfinite(result.step_losses).all()


def test_trainer_passes_the_intervention_mask_and_a_structure_lr_group(tiny_data,
                                                                       make_config) -> None:
    data = tiny_data
    mask = torch.zeros_like(data.labels)
    mask[::3, 2] = 1  # do(shade) in every third sample
    data.intervened = mask
    trainer = Trainer(make_config("causalvae-int", "epochs=1", "structure_lr=0.05",
                                  "structure_fit=joint", "structure_support=none"), data)
    groups = trainer.optimizer.param_groups
    assert [g["lr"] for g in groups] == [1e-3, 0.05]
    assert any(p is trainer.model.adjacency_raw for p in groups[1]["params"])
    seen = []
    original = trainer.model.forward

    def spy(x, u, intervened=None):
        seen.append(intervened)
        return original(x, u, intervened)

    trainer.model.forward = spy
    trainer.fit()
    assert seen and all(m is not None and m.shape[1] == 3 for m in seen)
    assert sum(float(m.sum()) for m in seen[1:]) == mask.sum()  # one epoch after the sanity pass
    # models without a causal layer are still called as model(x, u)
    Trainer(make_config("betavae", "epochs=1"), data).fit()


def test_a_model_reading_targets_warns_once_when_the_file_has_none(tiny_data, make_config,
                                                                    caplog) -> None:
    from causalvae.checkpoint import _warned_no_targets, warn_if_no_targets

    _warned_no_targets.clear()
    assert not tiny_data.has_interventions
    cfg = make_config("causalvae")
    with caplog.at_level("WARNING"):
        assert warn_if_no_targets(cfg, tiny_data)
        assert not warn_if_no_targets(cfg, tiny_data)  # once
    assert "no intervention targets" in caplog.text
    assert not warn_if_no_targets(make_config("causalvae-paper"), tiny_data)  # it reads none


def test_the_default_gradient_clip_is_a_guard_that_ordinary_steps_never_meet(
        tiny_data, make_config) -> None:
    assert RunConfig.default("causalvae").train.grad_clip == 1e5
    norms: list[float] = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *args, **kwargs):  # type: ignore[no-untyped-def]
        norm = real(params, max_norm, *args, **kwargs)
        norms.append(float(norm))
        return norm

    histories, default_norms = {}, []
    for clip in ("100000.0", "0", "1e-3"):
        norms.clear()
        torch.nn.utils.clip_grad_norm_ = spy
        try:
            result = Trainer(make_config("causalvae", "epochs=1", f"grad_clip={clip}"),
                             tiny_data).fit()
        finally:
            torch.nn.utils.clip_grad_norm_ = real
        histories[clip] = [stable(r) for r in result.history]
        if clip == "100000.0":
            default_norms = list(norms)
    # the clip ran on every step of the default run, never above its bound; that run is the
    # same, bit for bit, as one without a clip, and a clip that binds changes the run
    assert default_norms and max(default_norms) < 1e5
    assert histories["100000.0"] == histories["0"]
    assert histories["1e-3"] != histories["0"]
