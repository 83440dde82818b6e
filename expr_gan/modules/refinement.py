"""Family 2, the report's refinement step: stage 2 refines stage 1's output (the "two-step" process)."""
from __future__ import annotations

import logging

import torch
from torch import nn

from expr_gan.errors import UsageError
from expr_gan.modules.base import ExpressionEditModule

log = logging.getLogger(__name__)
MODES = ("two_step", "frozen", "end_to_end")


class RefinementModule(ExpressionEditModule):
    """Stage 1 (`net`, an EncoderDecoder) then stage 2 (`refiner`, a RefinementNet).

    mode `frozen`: stage 1 comes from `stage1_ckpt` (a generation run) and never changes;
    `two_step`: one run trains stage 1 alone for `stage1_epochs`, then freezes it and trains stage 2
    (the report's process); `end_to_end`: both at once (the report's "one big network"), with
    `lambda_stage1` weighting a loss on stage 1's own output.
    """

    def __init__(self, net: nn.Module, refiner: nn.Module, loss: nn.Module, optimizer=None, mode: str = "two_step",
                 stage1_ckpt: str | None = None, stage1_epochs: int = 1, lambda_rec: float = 1.0,
                 lambda_stage1: float = 0.0, grid_every_n_epochs: int = 1, gradient_clip_val: float | None = None,
                 on_nonfinite: str = "stop", scheduler=None):
        super().__init__(optimizer, grid_every_n_epochs, gradient_clip_val, on_nonfinite, scheduler)
        if mode not in MODES:
            raise UsageError(f"model.mode={mode!r}: expected one of {', '.join(MODES)}")
        self.net, self.refiner, self.loss_fn = net, refiner, loss
        self.mode, self.stage1_ckpt, self.stage1_epochs = mode, stage1_ckpt, stage1_epochs
        self.lambda_rec, self.lambda_stage1 = lambda_rec, lambda_stage1
        if stage1_ckpt:
            self._load_stage1(stage1_ckpt)

    def _load_stage1(self, path: str) -> None:
        from expr_gan.checkpoint import stage_weights
        from expr_gan.errors import CheckpointError

        try:
            self.net.load_state_dict(stage_weights(path, "net."))
        except RuntimeError as err:
            raise CheckpointError(f"model.stage1_ckpt={path}: its generator does not match model.net "
                                  f"(use the same model.net settings as that run): {str(err)[:300]}") from None
        log.info("stage 1 loaded from %s", path)

    def stage1_trainable(self) -> bool:
        """Whether stage 1 learns in the current epoch."""
        if self.mode == "frozen":
            return False
        return self.mode == "end_to_end" or self.current_epoch < self.stage1_epochs

    def stage2_trainable(self) -> bool:
        """Whether stage 2 learns in the current epoch."""
        return self.mode != "two_step" or self.current_epoch >= self.stage1_epochs

    def on_fit_start(self) -> None:
        if self.mode == "frozen" and not self.stage1_ckpt:
            raise UsageError("model.mode=frozen needs model.stage1_ckpt=PATH (a generation checkpoint)")

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()  # the schedulers
        self.net.requires_grad_(self.stage1_trainable())
        self.refiner.requires_grad_(self.stage2_trainable())
        self.train(self.training)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and not self.stage1_trainable():
            self.net.eval()  # a frozen stage 1 keeps its batch-norm statistics too
        return self

    def forward_stages(self, source: torch.Tensor, onehot: torch.Tensor):
        """(stage-1 output, stage-2 output, stage-2 encoder features)."""
        coarse = self.net(source, onehot)
        refined, features = self.refiner.refine(source, coarse, onehot)
        return coarse, refined, features

    def translate(self, source: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return self.forward_stages(source, onehot)[1]

    def grid_extra_rows(self, source, onehot):
        return [self.net(source, onehot)]  # the stage-1 output, to see what refinement adds

    def step_losses(self, batch: dict) -> tuple[dict, list | None]:
        """Named loss terms for a batch, and the stage-2 features (None while stage 2 does not run)."""
        source, onehot = batch["source"], batch["target_onehot"]
        coarse = self.net(source, onehot)
        losses, features = {}, None
        if self.stage2_trainable():  # stage 2 is not even run before its turn (its BN stats stay put)
            refined, features = self.refiner.refine(source, coarse, onehot)
            losses["loss_rec"] = self.lambda_rec * self.loss_fn(refined, batch["target"])
        if self.stage1_trainable() and (self.mode == "two_step" or self.lambda_stage1 > 0):
            weight = 1.0 if self.mode == "two_step" else self.lambda_stage1
            losses["loss_stage1"] = weight * self.loss_fn(coarse, batch["target"])
        return losses, features

    def training_step(self, batch: dict, batch_idx: int) -> None:
        losses, _ = self.step_losses(batch)
        if losses and self.update(self.optimizers(), losses):
            self.log_terms("train/G", losses)

    def eval_loss_rec(self, batch: dict) -> torch.Tensor:
        return self.loss_fn(self.translate(batch["source"], batch["target_onehot"]), batch["target"])

    def configure_optimizers(self):
        params = list(self.refiner.parameters()) + ([] if self.mode == "frozen" else list(self.net.parameters()))
        return self.with_schedulers([self.make_optimizer(params)])
