"""Exact resume: the seeded data order, batch-counted checkpoints, and bitwise-identical weights after
resuming from an epoch-end checkpoint (in-process) or a SIGKILL mid-epoch (subprocess)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import open_dict

from expr_gan.data.sampler import EpochSampler
from expr_gan.commands.train import train
from conftest import REPO
from helpers import batch_progress, learning_rates, optimizer_states, scheduler_epochs

# ours with WGAN-GP: the gradient penalty draws from torch's RNG every step, and the synthetic data
# flips pairs, so both the RNG restore and the data position matter
EXACT = ["model.gan_loss.mode=wgan", "+d_term@model.d_terms.gp=gradient_penalty", "logger=none", "callbacks.eval_metrics=null", "trainer.max_epochs=100",
         "trainer.deterministic=true"]


def test_epoch_sampler_is_seeded_and_resumes_mid_epoch():
    sampler = EpochSampler(10, seed=3, flip=True)
    sampler.set_epoch(2)
    full = list(sampler)
    again = EpochSampler(10, seed=3, flip=True)
    again.set_epoch(2)
    assert list(again) == full and sorted(i for i, _ in full) == list(range(10))
    assert any(f for _, f in full) and not all(f for _, f in full)
    assert list(sampler) != full  # a pass without set_epoch moves on to the next epoch's order
    sampler.resume(2, 4)
    assert list(sampler) == full[4:] and len(sampler) == 10
    sampler.set_epoch(2)
    assert list(sampler) == full  # the skip applies to one pass only
    assert all(not f for _, f in EpochSampler(10, seed=3, flip=False))
    with pytest.raises(ValueError, match="cannot resume after 11 items of an epoch of 10"):
        sampler.resume(0, 11)


def test_last_checkpoint_counts_batches_not_optimizer_steps(make_cfg):
    import helpers

    helpers.RecordSaves.at, helpers.RecordSaves.positions, helpers.RecordSaves.completed = [], [], []
    cfg = make_cfg("model=dcgan", "logger=none", "callbacks.eval_metrics=null", "callbacks.best_checkpoint=null",
                   "callbacks.batch_clock.every_n_batches=3", "max_batches=7",
                   "+callbacks.saves._target_=helpers.RecordSaves")
    train(cfg)
    assert helpers.RecordSaves.at == [3, 6, 7]  # every 3 batches, then at the stop (its validation's end)
    # each file records the position after the batch that triggered it, whatever the callbacks' order
    assert helpers.RecordSaves.positions[:2] == [(0, 3), (0, 6)]
    # and Lightning's loop agrees: a file written in on_train_batch_end would say 2 and 5 (the batch not
    # yet completed), and a resume from it restarts the loop one batch behind the data position
    assert helpers.RecordSaves.completed == [3, 6, 7]
    state = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["expr_gan_batches_trained"] == 7 and state["global_step"] == 14  # D and G each stepped once per batch
    assert state["expr_gan_resume"]["batches_done"] == 7 and state["expr_gan_resume"]["rng"]["torch"].dtype == torch.uint8
    with pytest.raises(Exception, match=r"callbacks.batch_clock.every_n_batches=0: expected a positive number"):
        train(make_cfg("callbacks.batch_clock.every_n_batches=0"))


def _weights(path: Path) -> dict:
    state = torch.load(path, weights_only=True)
    return {**state["state_dict"], **{f"opt{i}/{k}": v for i, o in enumerate(optimizer_states(state))
                                       for k, v in _flat(o["state"]).items()}}


def _flat(tree, prefix="") -> dict:
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix: tree} if isinstance(tree, torch.Tensor) else {}


def _assert_identical(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys() and len(wa) > 50
    differ = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not differ, f"{len(differ)} of {len(wa)} tensors differ, e.g. {differ[:3]}"


def test_resume_from_an_epoch_end_checkpoint_is_bitwise_identical(make_cfg, tmp_path):
    """Runs A (uninterrupted) and B (from A's first epoch checkpoint) end with equal weights and optimizers."""
    base = [*EXACT, "model=ours", "callbacks.best_checkpoint.save_top_k=-1", "max_batches=26"]
    cfg_a = make_cfg(*base)
    train(cfg_a)
    first = Path(cfg_a.paths.output_dir) / "checkpoints" / "epoch_0000.ckpt"
    assert torch.load(first, weights_only=True)["expr_gan_resume"]["batches_done"] == 0  # next epoch, from its start
    cfg_b = make_cfg(*base, f"ckpt_path={first}")
    with open_dict(cfg_b):
        cfg_b.paths.output_dir = str(tmp_path / "resumed")
    train(cfg_b)
    _assert_identical(Path(cfg_a.paths.output_dir) / "checkpoints" / "last.ckpt", tmp_path / "resumed/checkpoints/last.ckpt")


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_is_bitwise_identical(tmp_path, cache_dir):
    """The CLI as a user runs it: kill -9 after a periodic checkpoint, `ckpt_path=last`, compare to an uninterrupted run."""
    cmd = [sys.executable, "-m", "expr_gan.train", "debug=tiny", *EXACT, "max_batches=40", "print_config=false",
           "callbacks.batch_clock.every_n_batches=4", "trainer.enable_progress_bar=false"]
    env = {**os.environ, "EXPR_GAN_CACHE_DIR": str(cache_dir)}
    # prime the critic cache first: training the critic moves the global RNG differently from loading
    # it, so both compared runs must find it cached (a known issue: a run depends on the cache state)
    subprocess.run([*cmd, "max_batches=1", f"hydra.run.dir={tmp_path}/prime"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=600)
    subprocess.run([*cmd, f"hydra.run.dir={tmp_path}/straight"], cwd=REPO, env=env, check=True, capture_output=True, timeout=600)

    killed = subprocess.Popen([*cmd, f"hydra.run.dir={tmp_path}/killed"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = tmp_path / "killed/checkpoints/last.ckpt"
    deadline = time.time() + 600
    while not last.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # into the next batches: the kill lands mid-epoch, mid-work
    assert killed.poll() is None, "the run ended before it could be killed"
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    position = torch.load(last, weights_only=True)["expr_gan_resume"]
    assert 0 < position["batches_done"]  # a mid-epoch checkpoint

    resumed = subprocess.run([*cmd, f"hydra.run.dir={tmp_path}/killed", "ckpt_path=last"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_identical(tmp_path / "straight/checkpoints/last.ckpt", last)
    assert batch_progress(torch.load(last, weights_only=True))["processed"] == 40


@pytest.mark.parametrize("model", ["generation", "refinement", "joint", "dcgan"])
def test_every_family_steps_its_scheduler_once_per_epoch_across_a_mid_epoch_resume(make_cfg, tmp_path, model):
    """scheduler=linear_decay over 3 epochs: stepped as epochs 1 and 2 start, so the final learning rate
    is 1/3 of the base; a run stopped mid-epoch 1 (after its step) and resumed must not step again."""
    from omegaconf import open_dict

    base = [f"model={model}", "logger=none", "callbacks.eval_metrics=null", "scheduler=linear_decay",
            "trainer.max_epochs=3", "callbacks.best_checkpoint.monitor=null"]
    straight = make_cfg(*base)
    with open_dict(straight):
        straight.paths.output_dir = str(tmp_path / "straight")
    train(straight)
    last = torch.load(tmp_path / "straight/checkpoints/last.ckpt", weights_only=True)
    per_epoch = last["expr_gan_batches_trained"] // 3
    lr0 = float(straight.optimizer.lr)
    lrs = learning_rates(last)
    assert lrs and all(lr == pytest.approx(lr0 / 3) for lr in lrs), lrs
    stopped = make_cfg(*base, f"max_batches={per_epoch + 2}")
    train(stopped)
    mid = torch.load(Path(stopped.paths.output_dir) / "checkpoints/last.ckpt", weights_only=True)
    assert mid["expr_gan_resume"]["epoch"] == 1 and mid["expr_gan_schedulers_at_epoch"] == 1
    train(make_cfg(*base, "ckpt_path=last"))
    resumed = torch.load(Path(stopped.paths.output_dir) / "checkpoints/last.ckpt", weights_only=True)
    assert learning_rates(resumed) == pytest.approx(lrs)
    assert scheduler_epochs(resumed) == scheduler_epochs(last) and set(scheduler_epochs(last)) == {2}
