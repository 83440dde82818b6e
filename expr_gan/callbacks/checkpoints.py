"""Checkpoint files: atomic writes, the run config inside each file, and a `last.ckpt` that is always the latest state.

Lightning's `ModelCheckpoint(save_last=True, monitor=...)` (2.6) rewrites `last.ckpt` only in a step
in which it also writes a top-k checkpoint, so a final validation that does not improve the monitored
value leaves an older `last.ckpt` behind (tests/test_checkpoints.py pins this). Here ModelCheckpoint
keeps only the best epochs (`callbacks.best_checkpoint`) and `LastCheckpoint` alone owns `last.ckpt`.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins import TorchCheckpointIO
from pytorch_lightning.trainer.states import TrainerFn

from expr_gan.io import atomic_write

LAST = "last.ckpt"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file, fsynced, then renamed: a kill during a save never
    leaves a truncated `last.ckpt`; the previous one stays until the new one is complete."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        atomic_write(Path(os.fspath(path)), lambda tmp: torch.save(checkpoint, tmp))


class ConfigInCheckpoint(pl.Callback):
    """Store the run config (plain dicts and lists) and the fitted pixel range in each checkpoint.

    With it `expr_gan.evaluate` and `expr_gan.generate` rebuild the model from the checkpoint alone,
    and the file stays loadable with `torch.load(weights_only=True)`. Two forms: `expr_gan_config`,
    resolved (what ran), and `expr_gan_config_source`, with its interpolations kept
    (`data.source.size: ${data.size}`) so that an override of `data.size` when evaluating reaches every
    key that followed it in training; only the nodes that read the environment or Hydra's run
    (`paths`) are stored resolved there.
    """

    def __init__(self, config: dict, source: dict | None = None):
        self.config, self.source = config, source

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint["expr_gan_config"] = self.config
        if self.source is not None:
            checkpoint["expr_gan_config_source"] = self.source
        dm = trainer.datamodule
        if dm is not None and getattr(dm, "pixels", None) is not None:
            checkpoint["expr_gan_pixels"] = dm.pixels.state()


class LastCheckpoint(pl.callbacks.Checkpoint):
    """Write `<dirpath>/last.ckpt` after every `every_n_batches` training batches (as the next one starts),
    at the end of every validation and when training ends (unless nothing trained since the last write).

    A `Checkpoint`, so Lightning runs it with the checkpoint callbacks, after every other callback, and
    train() puts it after ModelCheckpoint: at the end of a validation the best-epoch file and its
    record (best_model_path) are updated first, and the last.ckpt written then carries that record. As
    a plain Callback it ran first and stored a record one validation old: a resume could leave the
    newest epoch file untracked and test the wrong one (tests/test_checkpoints.py).

    Batches are counted as the module counts them (`batches_trained`), whatever the family: Lightning's
    `every_n_train_steps` counts optimizer steps, several per batch for a GAN. Writes are atomic
    (AtomicCheckpointIO), so a kill during one keeps the previous file. Nothing is written when a run
    fails: after a divergence `last.ckpt` is the last good state.
    """

    def __init__(self, dirpath: str, every_n_batches: int | None = 200):
        if every_n_batches is not None and every_n_batches < 1:
            raise ValueError(f"callbacks.last_checkpoint.every_n_batches={every_n_batches}: "
                             "expected a positive number or null")
        self.path, self.every_n_batches = Path(dirpath) / LAST, every_n_batches
        self._written_at: int | None = None  # batches_trained at the last write

    def _write(self, trainer, pl_module) -> None:
        if trainer.fast_dev_run or trainer.sanity_checking:
            return
        trainer.save_checkpoint(self.path, weights_only=False)  # the whole state: weights, optimizers, loops
        self._written_at = pl_module.batches_trained

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # the periodic write happens as the next batch starts, not in on_train_batch_end: there Lightning
        # has not yet counted the batch as completed, and a resume from such a file restarts its loop
        # one batch behind our data position (tests/test_resume.py: the SIGKILL test caught it)
        done = pl_module.batches_trained
        if self.every_n_batches and done and done % self.every_n_batches == 0 and self._written_at != done:
            self._write(trainer, pl_module)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == TrainerFn.FITTING:  # not for trainer.validate()
            self._write(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if self._written_at != pl_module.batches_trained:  # e.g. stopped by max_batches or max_time mid-epoch
            self._write(trainer, pl_module)
