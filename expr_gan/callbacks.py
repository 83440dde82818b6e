"""Lightning callbacks of our own: the plain run config inside every checkpoint."""
from __future__ import annotations

import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from expr_gan.io import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file, fsynced, then renamed: a kill during a save never
    leaves a truncated `last.ckpt`; the previous one stays until the new one is complete."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        atomic_write(Path(os.fspath(path)), lambda tmp: torch.save(checkpoint, tmp))


class ConfigInCheckpoint(pl.Callback):
    """Store the resolved run config (plain dicts and lists) and the fitted pixel range in each checkpoint.

    With it `expr_gan.evaluate` and `expr_gan.generate` rebuild the model from the checkpoint alone,
    and the file stays loadable with `torch.load(weights_only=True)`.
    """

    def __init__(self, config: dict):
        self.config = config

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint["expr_gan_config"] = self.config
        dm = trainer.datamodule
        if dm is not None and getattr(dm, "pixels", None) is not None:
            checkpoint["expr_gan_pixels"] = dm.pixels.state()


class BatchBudget(pl.Callback):
    """Stop training after `max_batches` training batches (None: no limit).

    Lightning's `max_steps` counts optimizer steps, and a GAN takes several per batch; this budget
    means what users expect whatever the family.
    """

    def __init__(self, max_batches: int | None = None):
        self.max_batches = max_batches

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # set as the last batch starts (it still runs): its step then sees should_stop and logs its
        # loss terms, so the run's final train/ values are this batch's (modules/base.py log_terms)
        if self.max_batches is not None and trainer.fit_loop.total_batch_idx + 1 >= self.max_batches:
            trainer.should_stop = True
