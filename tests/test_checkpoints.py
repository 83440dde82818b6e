"""`last.ckpt` is always the latest state (every family, any monitor), and what Lightning's
ModelCheckpoint writes when, as expr_gan relies on it."""
from pathlib import Path

import pytest
import torch

from expr_gan.commands.train import train
from helpers import best_record

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
                   "trainer.max_epochs=3", "callbacks.batch_clock.every_n_batches=null")
    metrics = train(cfg)
    ckpts = _checkpoints(cfg)
    assert sorted(p.name for p in ckpts.iterdir()) == ["epoch_0000.ckpt", "last.ckpt"]
    best, last = _load(ckpts / "epoch_0000.ckpt"), _load(ckpts / "last.ckpt")
    per_epoch = best["expr_gan_batches_trained"]
    assert per_epoch > 0 and last["expr_gan_batches_trained"] == 3 * per_epoch
    assert last["epoch"] == 2 and last["global_step"] == 3 * best["global_step"]
    assert last["expr_gan_resume"]["epoch"] == 3 and last["expr_gan_resume"]["batches_done"] == 0
    assert metrics["val/loss_rec"] > best_record(best)["best_model_score"]
    changed = [k for k, v in best["state_dict"].items() if v.is_floating_point() and not torch.equal(v, last["state_dict"][k])]
    assert changed, "last.ckpt holds the weights of epoch 0"


def test_last_ckpt_without_a_monitor_and_after_a_mid_epoch_stop(make_cfg):
    cfg = make_cfg("model=dcgan", *QUIET, "callbacks.best_checkpoint.monitor=null", "max_batches=5",
                   "callbacks.batch_clock.every_n_batches=2")
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


def test_last_ckpt_carries_the_best_record_of_its_own_validation_and_a_resume_tests_that_file(make_cfg):
    """The final epoch improves: last.ckpt, written at that validation, must already name the new best
    file; resumed from it (nothing left to train, then one more epoch), run_test tests the right file."""
    import helpers

    helpers.ImprovingL1.calls = 0
    base = [*QUIET, "model=generation", "loss._target_=helpers.ImprovingL1", "callbacks.batch_clock.every_n_batches=null"]
    cfg = make_cfg(*base, "trainer.max_epochs=2")
    train(cfg)
    ckpts = _checkpoints(cfg)
    record = best_record(_load(ckpts / "last.ckpt"))
    assert Path(record["best_model_path"]).name == "epoch_0001.ckpt"  # not epoch 0's: one validation old
    assert sorted(p.name for p in ckpts.iterdir()) == ["epoch_0001.ckpt", "last.ckpt"]
    metrics = train(make_cfg(*base, "trainer.max_epochs=2", "ckpt_path=last", "run_test=true"))
    assert metrics["test/checkpoint"] == "epoch_0001.ckpt"
    metrics = train(make_cfg(*base, "trainer.max_epochs=3", "ckpt_path=last", "run_test=true"))
    assert metrics["test/checkpoint"] == "epoch_0002.ckpt"
    assert sorted(p.name for p in ckpts.iterdir()) == ["epoch_0002.ckpt", "last.ckpt"]  # nothing untracked


@pytest.mark.parametrize("model", ["generation", "ours"])
def test_the_kept_epoch_is_the_best_of_the_logged_monitor(make_cfg, model):
    """The file ModelCheckpoint keeps is the argmin of val/loss_rec as TensorBoard logged it, per epoch."""
    from expr_gan.replication.measures import scalar_history

    cfg = make_cfg(f"model={model}", "callbacks.eval_metrics=null", "trainer.max_epochs=3", "data.num_identities=8",
                   "callbacks.batch_clock.every_n_batches=null")
    train(cfg)
    curve = scalar_history(Path(cfg.paths.output_dir), "val/loss_rec")
    assert len(curve) == 3 and len({v for _, v in curve}) == 3, curve  # one value per epoch, all different
    best_epoch = min(range(3), key=lambda e: curve[e][1])
    kept = [p.name for p in _checkpoints(cfg).iterdir() if p.name.startswith("epoch_")]
    assert kept == [f"epoch_{best_epoch:04d}.ckpt"]
    assert best_record(_load(_checkpoints(cfg) / "last.ckpt"))["best_model_score"] == pytest.approx(curve[best_epoch][1])


def test_ours_monitors_the_loss_it_trains(make_cfg):
    """ours (rec_target=composite) is scored against the composite it learns: a generator that outputs
    the composite scores 0; one that outputs the plain aligned target does not."""
    from hydra.utils import instantiate

    cfg = make_cfg("model=ours", *QUIET)
    module = instantiate(cfg.model)
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    dm.setup()
    batch = next(iter(dm.val_dataloader()))
    composite = module.reconstruction_target(batch)
    assert module.targets.rec_target == "composite" and not torch.equal(composite, batch["target_aligned"])
    module.translate = lambda source, onehot: composite
    assert float(module.eval_loss_rec(batch)) == 0.0
    module.translate = lambda source, onehot: batch["target_aligned"]
    assert float(module.eval_loss_rec(batch)) > 0.0


def test_a_frozen_refinement_checkpoint_loads_after_its_stage1_file_moved(make_cfg, tmp_path):
    from omegaconf import open_dict

    from expr_gan.checkpoint import load_run

    stage1 = make_cfg("model=generation", *QUIET, "trainer.max_epochs=1")
    with open_dict(stage1):
        stage1.paths.output_dir = str(tmp_path / "stage1")
    train(stage1)
    stage1_file = tmp_path / "stage1" / "checkpoints" / "last.ckpt"
    cfg = make_cfg("model=refinement", "model.mode=frozen", f"model.stage1_ckpt={stage1_file}", *QUIET,
                   "trainer.max_epochs=1")
    train(cfg)
    stage1_file.rename(tmp_path / "moved.ckpt")
    module, dm, loaded = load_run(_checkpoints(cfg) / "last.ckpt")
    assert loaded.model.mode == "frozen"
    stored = _load(_checkpoints(cfg) / "last.ckpt")["state_dict"]
    assert all(torch.equal(v, stored[f"net.{k}"]) for k, v in module.net.state_dict().items())
    from conftest import REPO, run_cli
    result = run_cli("expr_gan.evaluate", f"ckpt={_checkpoints(cfg) / 'last.ckpt'}", "max_pairs=4", "c2st.steps=2",
                     f"out={tmp_path}/ev", cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
