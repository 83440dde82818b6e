"""`last.ckpt` is always the latest state (every family, any monitor), and what Lightning's
ModelCheckpoint writes when, as expr_gan relies on it."""
from pathlib import Path

import pytest
import torch

from expr_gan.train import train

QUIET = ["logger=none", "callbacks.eval_metrics=null"]


def _load(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def _checkpoints(cfg) -> Path:
    return Path(cfg.paths.output_dir) / "checkpoints"


@pytest.mark.parametrize("model", ["generation", "refinement", "joint", "dcgan"])
def test_last_ckpt_is_the_final_state_when_the_last_validation_is_worse(make_cfg, model):
    """The monitored val/loss_rec gets worse every epoch: the best checkpoint is epoch 0, and last.ckpt
    must still hold the weights after the final epoch (Lightning's save_last=True would keep epoch 0's)."""
    cfg = make_cfg(f"model={model}", *QUIET, "loss._target_=helpers.WorseningL1",
                   "trainer.max_epochs=3", "callbacks.last_checkpoint.every_n_batches=null")
    metrics = train(cfg)
    ckpts = _checkpoints(cfg)
    assert sorted(p.name for p in ckpts.iterdir()) == ["epoch_0000.ckpt", "last.ckpt"]
    best, last = _load(ckpts / "epoch_0000.ckpt"), _load(ckpts / "last.ckpt")
    per_epoch = best["expr_gan_batches_trained"]
    assert per_epoch > 0 and last["expr_gan_batches_trained"] == 3 * per_epoch
    assert last["epoch"] == 2 and last["global_step"] == 3 * best["global_step"]
    assert last["expr_gan_resume"]["epoch"] == 3 and last["expr_gan_resume"]["batches_done"] == 0
    assert metrics["val/loss_rec"] > best["callbacks"][next(k for k in best["callbacks"] if "ModelCheckpoint" in k)]["best_model_score"]
    changed = [k for k, v in best["state_dict"].items() if v.is_floating_point() and not torch.equal(v, last["state_dict"][k])]
    assert changed, "last.ckpt holds the weights of epoch 0"


def test_last_ckpt_without_a_monitor_and_after_a_mid_epoch_stop(make_cfg):
    cfg = make_cfg("model=dcgan", *QUIET, "callbacks.best_checkpoint.monitor=null", "max_batches=5",
                   "callbacks.last_checkpoint.every_n_batches=2")
    train(cfg)
    last = _load(_checkpoints(cfg) / "last.ckpt")
    assert last["expr_gan_batches_trained"] == 5 and last["global_step"] == 10  # written at the stop, not at batch 4
    assert last["expr_gan_resume"]["epoch"] == 0 and last["expr_gan_resume"]["batches_done"] == 5


def test_extending_a_stopped_run_continues_it_exactly(make_cfg, tmp_path):
    """A run stopped by its budget and resumed with a larger one ends bitwise equal to a run given the
    larger budget at once: Lightning continues the stopped epoch, and so does the data order."""
    import helpers
    from omegaconf import open_dict
    from test_resume import EXACT, _assert_identical

    base = [*EXACT, "model=dcgan", "callbacks.best_checkpoint.monitor=null"]
    straight = make_cfg(*base, "max_batches=12")
    with open_dict(straight):
        straight.paths.output_dir = str(tmp_path / "straight")
    train(straight)
    stopped = make_cfg(*base, "max_batches=5")
    train(stopped)
    helpers.RecordBatchIndices.seen = []
    train(make_cfg(*base, "max_batches=12", "ckpt_path=last", "+callbacks.record._target_=helpers.RecordBatchIndices"))
    assert helpers.RecordBatchIndices.seen == [(0, i) for i in range(5, 12)]
    _assert_identical(tmp_path / "straight/checkpoints/last.ckpt", _checkpoints(stopped) / "last.ckpt")
