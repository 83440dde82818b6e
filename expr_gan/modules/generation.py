"""Family 1, the report's generation step: one encoder-decoder trained with a pixel loss."""
from __future__ import annotations

import torch
from torch import nn

from expr_gan.modules.base import ExpressionEditModule


class GenerationModule(ExpressionEditModule):
    """Trains `net(source, onehot) -> target` with `loss` (MSE, SmoothL1, L1, ...)."""

    def __init__(self, net: nn.Module, loss: nn.Module, optimizer=None, lambda_rec: float = 1.0,
                 grid_every_n_epochs: int = 1, gradient_clip_val: float | None = None, on_nonfinite: str = "stop",
                 scheduler=None):
        super().__init__(optimizer, grid_every_n_epochs, gradient_clip_val, on_nonfinite, scheduler)
        self.net, self.loss_fn, self.lambda_rec = net, loss, lambda_rec

    def translate(self, source: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return self.net(source, onehot)

    def training_step(self, batch: dict, batch_idx: int) -> None:
        out = self.net(batch["source"], batch["target_onehot"])
        losses = {"loss_rec": self.lambda_rec * self.loss_fn(out, batch["target"])}
        if self.update(self.optimizers(), losses):
            self.log_terms("train/G", losses)

    def eval_loss_rec(self, batch: dict) -> torch.Tensor:
        return self.loss_fn(self.net(batch["source"], batch["target_onehot"]), batch["target"])

    def configure_optimizers(self):
        return self.with_schedulers([self.make_optimizer(self.net.parameters())])
