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
