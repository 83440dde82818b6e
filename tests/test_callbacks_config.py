"""Every callback of a run is built from its config (visible in `--cfg job`), in the config's order."""
from __future__ import annotations

import pytest

from conftest import REPO, run_cli

RUN_CALLBACKS = ["exact_resume", "config_in_checkpoint", "frozen_heap", "phase_timer"]


@pytest.mark.parametrize("choice", ["default", "end_eval", "none"])
def test_every_choice_of_callbacks_holds_what_every_run_needs(make_cfg, choice):
    cfg = make_cfg(f"callbacks={choice}")
    names = list(cfg.callbacks)
    assert names[:4] == RUN_CALLBACKS  # first: ExactResume records the position before the clock saves it
    assert "batch_clock" in names
    if choice == "none":
        assert cfg.callbacks.batch_clock.dirpath is None and "best_checkpoint" not in names
    else:
        assert names.index("best_checkpoint") < names.index("batch_clock")


def test_cfg_job_shows_the_callbacks_train_builds():
    done = run_cli("expr_gan.train", "--cfg", "job", "callbacks=none", cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    for name, target in [("exact_resume", "ExactResume"), ("config_in_checkpoint", "ConfigInCheckpoint"),
                         ("frozen_heap", "FrozenHeap"), ("phase_timer", "PhaseTimer"), ("batch_clock", "BatchClock")]:
        assert f"{name}:" in done.stdout and target in done.stdout


def test_lightning_runs_checkpoint_callbacks_last_in_their_config_order(make_cfg):
    """What last.ckpt's best-model record relies on (Lightning's reorder of Checkpoint callbacks)."""
    from hydra.utils import instantiate
    from pytorch_lightning.callbacks import ModelCheckpoint

    from expr_gan.callbacks.batch_clock import BatchClock
    from expr_gan.callbacks.resume import ExactResume
    from expr_gan.commands.train import run_callbacks

    cfg = make_cfg("logger=none")
    callbacks = run_callbacks(cfg)
    assert isinstance(callbacks[0], ExactResume)
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=False, enable_checkpointing=True)
    kinds = [type(c) for c in trainer.callbacks]
    assert kinds[-2:] == [ModelCheckpoint, BatchClock], kinds
    stored = next(c for c in callbacks if hasattr(c, "use_run_config"))
    assert stored.config["model"]["_target_"] == cfg.model._target_  # train() handed it the run config


def test_a_run_without_a_batch_clock_is_refused_naming_the_option(make_cfg):
    from expr_gan.errors import UsageError
    from expr_gan.commands.train import run_callbacks

    with pytest.raises(UsageError, match="callbacks: a run needs .*BatchClock"):
        run_callbacks(make_cfg("callbacks.batch_clock=null"))
    late = make_cfg("+callbacks.late._target_=pytorch_lightning.callbacks.ModelCheckpoint")
    with pytest.raises(UsageError, match="late comes after it"):
        run_callbacks(late)


def test_the_checkpoint_holds_the_config_handed_over(generation_ckpt):
    import torch

    ckpt = torch.load(generation_ckpt, weights_only=True)
    assert ckpt["expr_gan_config"]["callbacks"]["config_in_checkpoint"]["_target_"].endswith("ConfigInCheckpoint")
    assert ckpt["expr_gan_config_source"]["model"]["_target_"] == ckpt["expr_gan_config"]["model"]["_target_"]
