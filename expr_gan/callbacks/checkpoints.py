"""Checkpoint files: atomic writes and the run config inside each file.

Lightning's `ModelCheckpoint(save_last=True, monitor=...)` (2.6) rewrites `last.ckpt` only in a step
in which it also writes a top-k checkpoint, so a final validation that does not improve the monitored
value leaves an older `last.ckpt` behind (tests/test_checkpoints.py pins this). Here ModelCheckpoint
keeps only the best epochs (`callbacks.best_checkpoint`) and the batch clock (batch_clock.py) alone
owns `last.ckpt`.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins import TorchCheckpointIO

from expr_gan.io import atomic_write
from expr_gan.timing import timed


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file, fsynced, then renamed: a kill during a save never
    leaves a truncated `last.ckpt`; the previous one stays until the new one is complete."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        with timed("checkpoint", file=Path(os.fspath(path)).name):
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

    def __init__(self, config: dict | None = None, source: dict | None = None):
        self.config, self.source = config, source

    def use_run_config(self, config: dict, source: dict | None = None) -> None:
        """Store `config` (resolved) and `source` (interpolations kept): train() calls this, as a run's
        config (conf/callbacks/run.yaml builds this callback) cannot hold itself."""
        self.config, self.source = config, source

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        if self.config is None:  # a file without its config could not be evaluated or resumed
            raise RuntimeError("ConfigInCheckpoint has no run config: train() hands it over (use_run_config)")
        checkpoint["expr_gan_config"] = self.config
        if self.source is not None:
            checkpoint["expr_gan_config_source"] = self.source
        dm = trainer.datamodule
        if dm is not None and getattr(dm, "pixels", None) is not None:
            checkpoint["expr_gan_pixels"] = dm.pixels.state()
