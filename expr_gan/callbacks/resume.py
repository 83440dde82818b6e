"""Exact resume: checkpoints record every RNG state and the position in the data order.

Lightning restores weights, optimizers, schedulers and loop counters. What it leaves out is
restored here: the torch / CUDA / numpy / python RNG states (put back just before the first
resumed training step, so work done at start-up, e.g. building a referee, cannot shift them) and
how far into the epoch's order the run was (the datamodule's EpochSampler skips those batches).
All values are tensors, ints and tuples, so checkpoints still load with `weights_only=True`.
"""
from __future__ import annotations

import logging
import random

import numpy as np
import pytorch_lightning as pl
import torch

log = logging.getLogger(__name__)

KEY = "expr_gan_resume"


def rng_states() -> dict:
    """Every RNG a training step may draw from, as tensors and plain Python values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    states = {"torch": torch.get_rng_state(), "python": random.getstate(),
              "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                        "has_gauss": int(has_gauss), "gauss": float(gauss)}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Put back what `rng_states` returned."""
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    n = states["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class ExactResume(pl.Callback):
    """Save RNG states and the data position in each checkpoint; restore both when resuming.

    The position is tracked here from public hooks: after each training batch it is (epoch, batches
    done in that epoch); once an epoch ends (also one cut short by a budget) it is the next epoch's start.
    """

    def __init__(self):
        self._pending_rng: dict | None = None
        self._epoch, self._done = 0, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._epoch, self._done = trainer.current_epoch, batch_idx + 1  # batch_idx counts on after a resume

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._epoch, self._done = trainer.current_epoch + 1, 0

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        epoch, done = self._epoch, self._done
        if done >= trainer.num_training_batches:  # saved at the end of an epoch: resume at the next one
            epoch, done = epoch + 1, 0
        checkpoint[KEY] = {"rng": rng_states(), "epoch": epoch,
                           "batches_done": done, "batch_size": trainer.datamodule.batch_size}

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        state = checkpoint.get(KEY)
        sampler = getattr(trainer.datamodule, "train_sampler", None) if trainer.datamodule is not None else None
        if state is None or sampler is None:
            log.warning("resume: the checkpoint has no data position or RNG states (made by an older expr_gan?); "
                        "training continues, but not exactly as the interrupted run would have")
            return
        self._epoch, self._done = state["epoch"], state["batches_done"]
        if trainer.world_size > 1:
            log.warning("resume: exact resume is for one device; with %d processes the epoch restarts its order",
                        trainer.world_size)
        elif state["batch_size"] != trainer.datamodule.batch_size:
            log.warning("resume: data.batch_size changed (%d -> %d); the epoch's order restarts",
                        state["batch_size"], trainer.datamodule.batch_size)
        else:
            sampler.resume(state["epoch"], min(state["batches_done"] * state["batch_size"], sampler.num_items))
        self._pending_rng = state["rng"]

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._pending_rng is not None:  # the first resumed step draws what the killed run would have
            set_rng_states(self._pending_rng)
            self._pending_rng = None
