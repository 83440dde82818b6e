"""Family 3, the report's joint network: two-step generation plus an expression classifier (section 2.3.5)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from expr_gan.errors import UsageError
from expr_gan.modules.refinement import RefinementModule


class JointModule(RefinementModule):
    """RefinementModule whose stage-2 encoder features at `cls_level` also feed a classifier head.

    loss = reconstruction + lambda_cls * cross-entropy(head(features), target expression). The head
    is a config factory (`_partial_`) given the feature shape found by a dry run. Logs
    `{train,val,test}/cls_acc`: the report's accuracy table.
    """

    def __init__(self, net: nn.Module, refiner: nn.Module, loss: nn.Module, head, optimizer=None,
                 cls_level: int = 1, lambda_cls: float = 1.0, **kwargs):
        super().__init__(net, refiner, loss, optimizer, **kwargs)
        self.cls_level, self.lambda_cls = cls_level, lambda_cls
        # accuracy over all of an epoch's pairs (exact, and summed across processes under DDP); the
        # training one is kept in checkpoints, so an epoch resumed mid-way still counts all its pairs
        e = refiner.num_expressions
        self.train_cls_acc = MulticlassAccuracy(e, average="micro")
        self.train_cls_acc.persistent(True)
        self.val_cls_acc, self.test_cls_acc = MulticlassAccuracy(e, average="micro"), MulticlassAccuracy(e, average="micro")
        with torch.no_grad():
            size, channels, e = refiner.image_size, refiner.channels, refiner.num_expressions
            probe = torch.zeros(2, channels, size, size)
            feats = refiner.encode(torch.cat([probe, probe], 1), torch.eye(e)[:2])
        if not 0 <= cls_level < len(feats):
            raise UsageError(f"model.cls_level={cls_level}: the refiner has levels 0..{len(feats) - 1}")
        shape = feats[cls_level].shape
        self.head = head(in_channels=shape[1], num_classes=e, in_size=shape[-1])

    def _cls(self, batch: dict, features) -> tuple[torch.Tensor, torch.Tensor]:
        """(cross-entropy, logits) of the head on the stage-2 features."""
        logits = self.head(features[self.cls_level])
        return F.cross_entropy(logits, batch["target_expr"]), logits

    def training_step(self, batch: dict, batch_idx: int) -> None:
        losses, features = self.step_losses(batch)
        if features is not None:  # two_step mode: the head trains with stage 2
            loss_cls, logits = self._cls(batch, features)
            losses["loss_cls"] = self.lambda_cls * loss_cls
            self.train_cls_acc.update(logits.detach(), batch["target_expr"])  # on the device: no per-step sync
        if losses and self.update(self.optimizers(), losses):
            self.log_terms("train/G", losses)

    def on_train_epoch_end(self) -> None:
        if self.train_cls_acc.update_count:  # the epoch's accuracy over all its pairs
            self.log("train/cls_acc", self.train_cls_acc.compute(), prog_bar=True)
        self.train_cls_acc.reset()

    def eval_step(self, batch: dict, stage: str) -> None:
        _, refined, features = self.forward_stages(batch["source"], batch["target_onehot"])
        self.record_loss_rec(stage, self.loss_fn(refined, batch["target"]), len(batch["source"]))
        acc = self.val_cls_acc if stage == "val" else self.test_cls_acc
        acc.update(self._cls(batch, features)[1], batch["target_expr"])
        self.log(f"{stage}/cls_acc", acc, prog_bar=stage == "val")

    def configure_optimizers(self):
        params = list(self.refiner.parameters()) + list(self.head.parameters())
        params += [] if self.mode == "frozen" else list(self.net.parameters())
        return self.with_schedulers([self.make_optimizer(params)])
