"""Family 3, the report's joint network: two-step generation plus an expression classifier (section 2.3.5)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

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
        self._epoch_acc = 0  # becomes a [correct, seen] tensor during a training epoch
        with torch.no_grad():
            size, channels, e = refiner.image_size, refiner.channels, refiner.num_expressions
            probe = torch.zeros(2, channels, size, size)
            feats = refiner.encode(torch.cat([probe, probe], 1), torch.eye(e)[:2])
        if not 0 <= cls_level < len(feats):
            raise ValueError(f"model.cls_level={cls_level}: the refiner has levels 0..{len(feats) - 1}")
        shape = feats[cls_level].shape
        self.head = head(in_channels=shape[1], num_classes=e, in_size=shape[-1])

    def _cls(self, batch: dict, features) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.head(features[self.cls_level])
        loss = F.cross_entropy(logits, batch["target_expr"])
        acc = (logits.argmax(1) == batch["target_expr"]).float().mean()
        return loss, acc

    def training_step(self, batch: dict, batch_idx: int) -> None:
        losses, features = self.step_losses(batch)
        if features is not None:  # two_step mode: the head trains with stage 2
            loss_cls, acc = self._cls(batch, features)
            losses["loss_cls"] = self.lambda_cls * loss_cls
            n = len(batch["source"])  # correct and seen, summed on the device: no per-step sync
            self._epoch_acc = self._epoch_acc + torch.stack([acc.detach() * n, acc.new_tensor(float(n))])
        if losses and self.update(self.optimizers(), losses):
            self.log_terms("train/G", losses)

    def on_train_epoch_end(self) -> None:
        correct, seen = self._epoch_acc.tolist() if torch.is_tensor(self._epoch_acc) else (0, 0)
        if seen:  # the epoch's accuracy over all its pairs (what on_epoch=True logging would give)
            self.log("train/cls_acc", correct / seen, prog_bar=True)
        self._epoch_acc = 0

    def _eval_step(self, batch: dict, stage: str) -> None:
        _, refined, features = self.forward_stages(batch["source"], batch["target_onehot"])
        _, acc = self._cls(batch, features)
        self.log(f"{stage}/loss_rec", self.loss_fn(refined, batch["target"]), prog_bar=stage == "val")
        self.log(f"{stage}/cls_acc", acc, prog_bar=stage == "val")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def configure_optimizers(self):
        params = list(self.refiner.parameters()) + list(self.head.parameters())
        params += [] if self.mode == "frozen" else list(self.net.parameters())
        return self.make_optimizer(params)
