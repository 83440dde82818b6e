"""Test-only components instantiated from configs (`loss._target_=helpers.NaNAfterLoss`)."""
import pytorch_lightning as pl
import torch
from torch import nn


class NaNAfterLoss(nn.Module):
    """L1 that turns NaN from call number `after` on (a divergence injected into a real run)."""

    def __init__(self, after: int = 3):
        super().__init__()
        self.after, self.calls = after, 0

    def forward(self, output, target):
        self.calls += 1
        loss = (output - target).abs().mean()
        return loss * float("nan") if self.calls > self.after else loss



class RecordBatchKeys(pl.Callback):
    """A callback (`+callbacks.keys._target_=helpers.RecordBatchKeys`) noting the keys of training batches."""

    seen: set = set()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        RecordBatchKeys.seen.update(batch)


class WorseningL1(nn.Module):
    """L1 plus the number of calls so far: no effect on gradients, but every validation scores worse
    than the one before, whatever the model learns (a monitored metric that never improves again)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, output, target):
        self.calls += 1
        return (output - target).abs().mean() + float(self.calls)


class RecordBatchIndices(pl.Callback):
    """(epoch, batch_idx) of every training batch (`+callbacks.record._target_=helpers.RecordBatchIndices`)."""

    seen: list = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        RecordBatchIndices.seen.append((trainer.current_epoch, batch_idx))



class RecordSaves(pl.Callback):
    """`batches_trained` at every checkpoint write (`+callbacks.saves._target_=helpers.RecordSaves`)."""

    at: list = []

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        RecordSaves.at.append(pl_module.batches_trained)
